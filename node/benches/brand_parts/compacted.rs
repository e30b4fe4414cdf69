//! The pages a brand opens most, timed on its store as deliveries left it and again after
//! `ilm db compact` rewrote it: what the engine's log costs the reads.

use anyhow::Result;
use ilm_node::membership::MembershipState;
use ilm_node::store::Store;
use ilm_node::{scorecard, worklist};
use ilm_protocol::{OrgId, Timestamp};
use std::time::{Duration, Instant};

/// What a page is timed with.
pub struct Brand<'a> {
    /// The brand's membership view.
    pub membership: &'a MembershipState,
    /// The brand.
    pub me: &'a OrgId,
    /// The time the pages are read at.
    pub until: Timestamp,
    /// Runs of each page.
    pub runs: usize,
}

/// Each page's name and its times on `store`.
pub fn pages(store: &Store, b: &Brand) -> Result<Vec<(&'static str, Vec<Duration>)>> {
    let label = |c: ilm_protocol::IssueCategory| c.code().to_string();
    let query = |f: &dyn Fn(&mut worklist::CaseQuery)| {
        let mut q = worklist::CaseQuery::default();
        f(&mut q);
        q
    };
    let lists: Vec<(&'static str, worklist::CaseQuery)> = vec![
        ("case list, first page", query(&|_| {})),
        (
            "every case not closed, soonest due first",
            query(&|q| q.sort = "due".into()),
        ),
        (
            "overdue, soonest due first",
            query(&|q| {
                q.overdue = true;
                q.sort = "due".into();
            }),
        ),
        (
            "one status, by status",
            query(&|q| {
                q.status = "acknowledged".into();
                q.sort = "status".into();
            }),
        ),
    ];
    let mut out = Vec::new();
    for (what, q) in &lists {
        // Once untimed: the store was just opened, and a node serves a page more than once.
        worklist::list(store, b.membership, b.me, b.until, q, &label)?;
        let mut times = Vec::new();
        for _ in 0..b.runs {
            let started = Instant::now();
            worklist::list(store, b.membership, b.me, b.until, q, &label)?;
            times.push(started.elapsed());
        }
        out.push((*what, times));
    }
    let (mut dashboard, mut cards) = (Vec::new(), Vec::new());
    for _ in 0..=b.runs {
        let started = Instant::now();
        let c = scorecard::compare(store, b.membership, b.me, b.until, &Default::default(), 0)?;
        ilm_node::ui::figures::brand(store, b.membership, b.me, b.until, &c)?;
        dashboard.push(started.elapsed());
        let started = Instant::now();
        scorecard::compare(
            store,
            b.membership,
            b.me,
            b.until,
            &Default::default(),
            scorecard::RECENT,
        )?;
        cards.push(started.elapsed());
    }
    // The first of each was the untimed one.
    dashboard.remove(0);
    cards.remove(0);
    out.push(("dashboard figures (cells)", dashboard));
    out.push(("scorecards and newest cases (cells)", cards));
    Ok(out)
}
