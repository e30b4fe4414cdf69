//! Operator accounts of the admin UI: roles, argon2id passwords, disabling, and a login that
//! takes as long for an unknown name as for a known one.

pub use crate::records::{Operator, OperatorRole};
use crate::schema;
use crate::store::{Store, WriteBatch};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Why an operator could not be added.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// Name rules.
    #[error("operator names are 1 to 64 letters, digits, '.', '-' or '_'")]
    BadName,
    /// Password rules.
    #[error("passwords must be at least 10 characters")]
    WeakPassword,
    /// Exists.
    #[error("an operator named {0:?} exists")]
    Exists(String),
    /// No such operator.
    #[error("no operator named {0:?}")]
    Unknown(String),
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// Storage.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn hash(password: &str) -> Result<String, OperatorError> {
    if password.chars().count() < 10 {
        return Err(OperatorError::WeakPassword);
    }
    let salt_bytes = ilm_protocol::identity::random_bytes::<16>()
        .map_err(|e| OperatorError::Hash(e.to_string()))?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| OperatorError::Hash(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| OperatorError::Hash(e.to_string()))?
        .to_string())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn save(store: &Store, op: &Operator) -> Result<(), OperatorError> {
    let mut batch = WriteBatch::new();
    batch.put(&schema::OPERATORS, op.name.as_bytes(), op)?;
    store.commit(batch)?;
    Ok(())
}

/// An operator account, if it exists.
pub fn get(store: &Store, name: &str) -> Result<Option<Operator>, OperatorError> {
    if !valid_name(name) {
        return Ok(None);
    }
    Ok(store.get(&schema::OPERATORS, name.as_bytes())?)
}

/// Every operator account.
pub fn list(store: &Store) -> Result<Vec<Operator>, OperatorError> {
    Ok(store.scan(&schema::OPERATORS, &[])?)
}

/// Adds an operator (argon2id-hashed password) to the node's database.
pub fn add_operator(
    store: &Store,
    name: &str,
    role: OperatorRole,
    password: &str,
) -> Result<(), OperatorError> {
    if !valid_name(name) {
        return Err(OperatorError::BadName);
    }
    if get(store, name)?.is_some() {
        return Err(OperatorError::Exists(name.to_string()));
    }
    save(
        store,
        &Operator {
            name: name.to_string(),
            role,
            password_hash: hash(password)?,
            disabled: false,
            lang: None,
        },
    )
}

/// Sets a new password for an operator.
pub fn set_password(store: &Store, name: &str, password: &str) -> Result<(), OperatorError> {
    let mut op = get(store, name)?.ok_or_else(|| OperatorError::Unknown(name.to_string()))?;
    op.password_hash = hash(password)?;
    save(store, &op)
}

/// Disables (or enables again) an operator's login.
pub fn set_disabled(store: &Store, name: &str, disabled: bool) -> Result<(), OperatorError> {
    let mut op = get(store, name)?.ok_or_else(|| OperatorError::Unknown(name.to_string()))?;
    op.disabled = disabled;
    save(store, &op)
}

/// Argon2 verifications made, so that tests can check that every login costs one.
static CHECKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Password verifications made by this process.
pub fn password_checks() -> u64 {
    CHECKS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Checks a password against an operator's stored hash.
pub fn check_password(op: &Operator, password: &str) -> bool {
    CHECKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    PasswordHash::new(&op.password_hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash no password matches, verified for unknown and disabled names so that a login
/// takes as long whether or not the name exists.
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::encode_b64(b"ilm-decoy-salt!!").ok();
        salt.and_then(|s| {
            Argon2::default()
                .hash_password(b"no password matches this decoy", &s)
                .ok()
                .map(|h| h.to_string())
        })
        .unwrap_or_default()
    })
}

/// The operator `name` logs in as with `password`, if the password is right and the account
/// enabled. Costs one argon2 verification whether or not the name exists.
/// Remembers the UI language an operator chose.
pub fn set_lang(store: &Store, name: &str, lang: &str) -> Result<(), OperatorError> {
    if let Some(mut op) = get(store, name)? {
        op.lang = Some(lang.to_string());
        save(store, &op)?;
    }
    Ok(())
}

/// Checks a password; the operator on success.
pub fn login(store: &Store, name: &str, password: &str) -> Option<Operator> {
    match get(store, name).ok().flatten() {
        Some(op) => {
            let ok = check_password(&op, password);
            (ok && !op.disabled).then_some(op)
        }
        None => {
            let decoy = Operator {
                name: String::new(),
                role: OperatorRole::Readonly,
                password_hash: decoy().to_string(),
                disabled: true,
                lang: None,
            };
            let _ = check_password(&decoy, password);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_login_costs_one_verification_whether_or_not_the_name_exists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = schema::open(&dir.path().join("db")).expect("db");
        add_operator(&store, "alice", OperatorRole::Caseworker, "a long password").expect("add");
        add_operator(&store, "bob", OperatorRole::Caseworker, "another long one").expect("add");
        set_disabled(&store, "bob", true).expect("disable");
        for (name, password, ok) in [
            ("alice", "a long password", true),
            ("alice", "wrong", false),
            ("nobody", "a long password", false),
            ("bob", "another long one", false),
            (&"x".repeat(500), "y", false),
        ] {
            let before = password_checks();
            assert_eq!(login(&store, name, password).is_some(), ok, "{name}");
            // Other tests may verify in parallel: at least one check, and this one's.
            assert!(password_checks() > before, "{name}: no verification");
        }
        assert!(matches!(
            set_password(&store, "carol", "long enough password"),
            Err(OperatorError::Unknown(_))
        ));
        assert!(matches!(
            set_password(&store, "alice", "short"),
            Err(OperatorError::WeakPassword)
        ));
    }
}
