//! The steward's register: membership requests reviewed and issued, members revoked,
//! certificates about to expire, and each member's health as this node sees it.

use super::*;
use crate::outbox::{DeliveryState, OutboxEntry};
use std::collections::HashMap;

/// Days before expiry from which a certificate is flagged.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// Whole days from `t` until `not_after` (negative once past). A certificate's end is any
/// time its steward signed, up to the last second a timestamp holds: counted wide, so a far
/// one cannot overflow.
fn days_left(not_after: ilm_protocol::Timestamp, t: ilm_protocol::Timestamp) -> i64 {
    let days = (i128::from(not_after.0) - i128::from(t.0)).div_euclid(86_400);
    // Within i64 for any two u64 seconds: (2^64 - 1) / 86,400 < 2^63.
    i64::try_from(days).unwrap_or(i64::MAX)
}

pub(crate) async fn members(
    State(st): State<Arc<ApiState>>,
    Extension(p): Extension<Principal>,
) -> Response {
    let t = now();
    let rows = match crate::register::list(&st.membership.network(), &st.store, t) {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let connected: Vec<ilm_protocol::OrgId> = match st.net.status().await {
        Ok(n) => n.peers.iter().map(|x| x.org_id).collect(),
        Err(_) => Vec::new(),
    };
    let last_seen = st.metrics.last_seen();
    // Our messages to each member: waiting, refused, and the most attempts one has taken.
    let mut outbox: HashMap<ilm_protocol::OrgId, (u64, u64, u32)> = HashMap::new();
    let entries: Vec<OutboxEntry> = match st.store.scan(&schema::OUTBOX, &[]) {
        Ok(e) => e,
        Err(e) => return ApiError::from(e).into_response(),
    };
    for e in entries {
        let o = outbox.entry(e.recipient).or_default();
        match e.state {
            DeliveryState::Pending => {
                o.0 += 1;
                o.2 = o.2.max(e.attempts);
            }
            DeliveryState::Rejected => o.1 += 1,
            DeliveryState::Delivered => {}
        }
    }
    let mut members: Vec<Value> = rows
        .iter()
        .map(|m| {
            let days_left = days_left(m.not_after, t);
            let (pending, rejected, attempts) = outbox.get(&m.org_id).copied().unwrap_or_default();
            json!({
                "org_id": m.org_id, "name": m.name, "role": m.role, "country": m.country,
                "not_after": m.not_after, "revoked": m.revoked,
                "expired": m.not_after < t,
                "expiring": !m.revoked && m.not_after >= t && days_left <= EXPIRY_WARNING_DAYS,
                "days_left": days_left,
                "connected": connected.contains(&m.org_id),
                "last_seen": last_seen.get(&m.org_id),
                "pending": pending, "rejected": rejected, "attempts": attempts,
                "is_me": m.org_id == st.keys.org_id(),
            })
        })
        .collect();
    // What needs the steward first: expired, then expiring soonest; revoked last.
    members.sort_by_key(|m| {
        (
            m["revoked"].as_bool().unwrap_or(false),
            m["not_after"].as_u64().unwrap_or(0),
        )
    });
    let mut ctx = base_ctx(&st, Some(&p), "members_title", "/members");
    ctx["members"] = json!(members);
    ctx["can_admin"] = json!(Permission::Admin.allows(p.role));
    ctx["expiring"] = json!(
        members
            .iter()
            .filter(|m| m["expiring"] == json!(true)
                || (m["expired"] == json!(true) && m["revoked"] == json!(false)))
            .count()
    );
    // Labels the page's script needs for a reviewed request.
    let tr = st.i18n.table(&p.lang);
    let labels: std::collections::BTreeMap<&String, &String> = tr
        .iter()
        .filter(|(k, _)| {
            k.starts_with("role_") || k.starts_with("country_") || *k == "yes" || *k == "no"
        })
        .collect();
    ctx["labels"] = json!(labels);
    render(&st, "members.html", ctx)
        .map(IntoResponse::into_response)
        .unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ilm_protocol::Timestamp;

    /// A certificate ending at any second a timestamp holds (nothing in its check bounds
    /// it) shows its days left: taken as i64, an end from 2^63 on overflowed (a panic in a
    /// debug build) or turned negative (the last second showed as long expired); near and
    /// past ends count as before.
    #[test]
    fn days_left_hold_for_any_certificate_end() {
        let t = Timestamp(1_800_000_000);
        assert_eq!(days_left(Timestamp(1 << 63), t), 106_751_991_146_467);
        assert_eq!(days_left(Timestamp(u64::MAX), t), 213_503_982_313_767);
        assert_eq!(days_left(Timestamp(t.0 + 86_400 * 3 + 5), t), 3);
        assert_eq!(days_left(Timestamp(t.0 - 1), t), -1);
        assert_eq!(
            days_left(Timestamp(0), Timestamp(u64::MAX)),
            -213_503_982_334_602
        );
    }
}
