//! Issue categories: the local codebook, mapped to the ILO's 11 forced-labour indicators.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The ILO's 11 indicators of forced labour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IloIndicator {
    /// Abuse of vulnerability.
    AbuseOfVulnerability,
    /// Deception.
    Deception,
    /// Restriction of movement.
    RestrictionOfMovement,
    /// Isolation.
    Isolation,
    /// Physical and sexual violence.
    PhysicalAndSexualViolence,
    /// Intimidation and threats.
    IntimidationAndThreats,
    /// Retention of identity documents.
    RetentionOfIdentityDocuments,
    /// Withholding of wages.
    WithholdingOfWages,
    /// Debt bondage.
    DebtBondage,
    /// Abusive working and living conditions.
    AbusiveWorkingAndLivingConditions,
    /// Excessive overtime.
    ExcessiveOvertime,
}

macro_rules! categories {
    ($($variant:ident => $name:literal, $label:literal, $ilo:expr;)*) => {
        /// An issue category a worker reports; the codebook used in cases and escalations.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum IssueCategory {
            $(
                #[doc = $label]
                $variant,
            )*
        }

        impl IssueCategory {
            /// Every category, in codebook order.
            pub const ALL: &'static [IssueCategory] = &[$(IssueCategory::$variant),*];

            /// The snake_case code used in files and on the command line.
            pub fn code(&self) -> &'static str {
                match self { $(IssueCategory::$variant => $name),* }
            }

            /// An English label for people.
            pub fn label(&self) -> &'static str {
                match self { $(IssueCategory::$variant => $label),* }
            }

            /// The ILO forced-labour indicator this category evidences, if any.
            pub fn ilo_indicator(&self) -> Option<IloIndicator> {
                use IloIndicator::*;
                match self { $(IssueCategory::$variant => $ilo),* }
            }
        }
    };
}

categories! {
    AbuseOfVulnerability => "abuse_of_vulnerability", "Abuse of vulnerability", Some(AbuseOfVulnerability);
    Deception => "deception", "Deception", Some(Deception);
    RestrictionOfMovement => "restriction_of_movement", "Restriction of movement", Some(RestrictionOfMovement);
    Isolation => "isolation", "Isolation", Some(Isolation);
    PhysicalAndSexualViolence => "physical_and_sexual_violence", "Physical and sexual violence", Some(PhysicalAndSexualViolence);
    IntimidationAndThreats => "intimidation_and_threats", "Intimidation and threats", Some(IntimidationAndThreats);
    RetentionOfIdentityDocuments => "retention_of_identity_documents", "Retention of identity documents", Some(RetentionOfIdentityDocuments);
    WithholdingOfWages => "withholding_of_wages", "Withholding of wages", Some(WithholdingOfWages);
    DebtBondage => "debt_bondage", "Debt bondage", Some(DebtBondage);
    AbusiveWorkingAndLivingConditions => "abusive_working_and_living_conditions", "Abusive working and living conditions", Some(AbusiveWorkingAndLivingConditions);
    ExcessiveOvertime => "excessive_overtime", "Excessive overtime", Some(ExcessiveOvertime);
    RecruitmentFees => "recruitment_fees", "Recruitment fees (Employer Pays Principle)", Some(DebtBondage);
    Contracts => "contracts", "Contracts", Some(Deception);
    WagesAndBenefits => "wages_and_benefits", "Wages and benefits", Some(WithholdingOfWages);
    HealthAndSafety => "health_and_safety", "Health and safety", Some(AbusiveWorkingAndLivingConditions);
    LivingConditions => "living_conditions", "Living conditions", Some(AbusiveWorkingAndLivingConditions);
    DiscriminationAndHarassment => "discrimination_and_harassment", "Discrimination and harassment", None;
    FreedomOfAssociation => "freedom_of_association", "Freedom of association", None;
    ChildLabour => "child_labour", "Child labour", None;
    InformationRequest => "information_request", "Information request", None;
}

impl fmt::Display for IssueCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A category code that is not in the codebook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown issue category {0:?} (see the codebook in docs/PROTOCOL.md)")]
pub struct UnknownCategory(pub String);

impl FromStr for IssueCategory {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IssueCategory::ALL
            .iter()
            .copied()
            .find(|c| c.code() == s)
            .ok_or_else(|| UnknownCategory(s.to_string()))
    }
}

/// An ISO 4217 currency code (three uppercase letters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

/// A currency code that is not three uppercase letters. Like a country code's error, it
/// does not carry what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid currency code: expected three uppercase letters (ISO 4217, e.g. THB)")]
pub struct InvalidCurrency;

impl TryFrom<String> for Currency {
    type Error = InvalidCurrency;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(s))
        } else {
            Err(InvalidCurrency)
        }
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}

impl FromStr for Currency {
    type Err = InvalidCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::try_from(s.to_string())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount of money in a currency's minor unit (satang for THB, cents for USD, yen for JPY).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Amount in minor units.
    pub minor_units: u64,
    /// ISO 4217 currency.
    pub currency: Currency,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused currency code's error and its JSON refusal say what is accepted, not what
    /// was given (it may be anything a person typed).
    #[test]
    fn a_refused_currency_is_not_echoed() {
        assert_eq!(
            "THB".parse::<Currency>().map(|c| c.to_string()).ok(),
            Some("THB".into())
        );
        let refused = "Somchai".parse::<Currency>().map(|_| ()).unwrap_err();
        assert!(!format!("{refused} {refused:?}").contains("Somchai"));
        let json = serde_json::from_str::<Currency>("\"Somchai\"")
            .map(|_| ())
            .unwrap_err();
        assert!(
            json.to_string().contains("three uppercase letters"),
            "{json}"
        );
        assert!(!json.to_string().contains("Somchai"), "{json}");
    }

    #[test]
    fn codes_round_trip_and_all_ilo_indicators_are_covered() {
        let mut covered = std::collections::BTreeSet::new();
        for c in IssueCategory::ALL {
            assert_eq!(c.code().parse::<IssueCategory>().ok(), Some(*c));
            let json = serde_json::to_string(c).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", c.code()));
            if let Some(i) = c.ilo_indicator() {
                covered.insert(i);
            }
        }
        assert_eq!(covered.len(), 11);
    }
}
