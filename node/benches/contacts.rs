//! A CSO's contact list over many contacts: the pages its caseworkers open (the newest
//! contacts, a later page, the repeat callers, an intake operator's own contacts, one
//! worker's contacts as the intake shows them after a save, a search), read from the
//! contact index, against the read of every contact that made them before the index
//! (`contact_list::scan`), in the same run on the same store. Also: how long building the
//! index takes (a node's first start after the upgrade that brought it).
//!
//! The contacts are synthetic (sealed with a real vault; one in five a worker calling again,
//! found by the same number written another way; 72 sets of values), stored with their
//! index a thousand per batch. Run: `cargo bench -p ilm-node --bench contacts` (release); without `--bench` a
//! small smoke version. Knobs: ILM_BENCH_CONTACTS (100000; smoke 2000); ILM_BENCH_PAGES
//! (only the pages whose name holds one of its parts split by `|`); ILM_BENCH_REBUILD=no
//! (the index kept by seeding alone, as a node's intake keeps it; the rebuild not measured);
//! ILM_BENCH_CHECK=yes (`ilm reindex --check`'s passes over the contact index timed). Nothing asserts on
//! time; each page from the index is first checked equal to the scan's. Values are labelled
//! in English and Thai with the node's real tables, as the API searches them.

mod common;

use anyhow::{Context, Result, bail};
use common::rss_mb;
use ilm_node::contact_list::labels::labelled;
use ilm_node::contact_list::{ContactQuery, Seen, groups, scan, select, signatures};
use ilm_node::datadir::DataDir;
use ilm_node::intake::{
    AgeBand, Channel, Contact, ContactId, Gender, SealedContact, WorkerIdentity,
};
use ilm_node::schema;
use ilm_node::store::{Store, WriteBatch};
use ilm_node::vault::Vault;
use ilm_protocol::Timestamp;
use std::time::{Duration, Instant};

const T0: u64 = 1_700_000_000;
const OPERATORS: [&str; 4] = ["intake-1", "intake-2", "intake-3", "intake-4"];
const SECTORS: [&str; 6] = [
    "seafood",
    "fishing",
    "agriculture",
    "construction",
    "garment",
    "domestic_work",
];

fn quantiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99))
}

/// Contact `i`: one in five (`i % 5 == 4`) is the worker of contact `i - 2` calling again,
/// with the same number written another way.
fn contact(vault: &Vault, i: u64) -> Result<(Contact, groups::Indexed)> {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    id[8..].copy_from_slice(&i.to_be_bytes());
    let id = ContactId(id);
    let (number, local) = if i % 5 == 4 {
        (i - 2, true)
    } else {
        (i, false)
    };
    let phone = if local {
        format!("0{:09}", 800_000_000 + number)
    } else {
        format!("+66 {:09}", 800_000_000 + number)
    };
    let identity = WorkerIdentity {
        name: format!("Worker {i}"),
        phone,
        messenger_id: String::new(),
        id_numbers: Vec::new(),
    };
    // One in fifty names a sector in its notes (a word in other contacts' values).
    let before = if i % 50 == 7 {
        " who worked in seafood before"
    } else {
        ""
    };
    let sealed = SealedContact {
        identity,
        notes: format!("Synthetic sample contact {i}{before}"),
    };
    let indexed = groups::Indexed::of(vault, &sealed)?;
    let sealed = vault.seal_json(&id.0, &sealed)?;
    // 72 sets of values: six sectors, four channels, three countries (with their language).
    let sector = SECTORS[(i % 6) as usize];
    let channel = [
        Channel::PhoneCall,
        Channel::Line,
        Channel::Facebook,
        Channel::Viber,
    ][(i / 6 % 4) as usize];
    let (country, language) = [("MM", "my"), ("KH", "km"), ("LA", "lo")][(i / 24 % 3) as usize];
    let contact = Contact {
        id,
        received_at: Timestamp(T0 + i * 600),
        channel,
        language: language.into(),
        nationality: country.parse()?,
        gender: Gender::Female,
        age_band: AgeBand::From25To34,
        sector: sector.into(),
        origin: country.parse()?,
        destination: "TH".parse()?,
        case_ref: None,
        recorded_by: Some(OPERATORS[(i % 4) as usize].into()),
        sealed,
        erased: None,
    };
    Ok((contact, indexed))
}

fn seed(store: &Store, vault: &Vault, n: u64) -> Result<()> {
    let mut i = 0;
    while i < n {
        let mut batch = WriteBatch::new();
        let mut index = groups::Pending::new();
        for j in i..(i + 1_000).min(n) {
            let (c, indexed) = contact(vault, j)?;
            batch.put(&schema::CONTACTS, &c.id.0, &c)?;
            index.add(store, &c, indexed)?;
        }
        index.stage(store, &mut batch)?;
        store.commit(batch)?;
        i += 1_000;
    }
    Ok(())
}

fn main() -> Result<()> {
    let measuring = std::env::args().any(|a| a == "--bench");
    let n: u64 = match std::env::var("ILM_BENCH_CONTACTS") {
        Ok(v) => v
            .parse()
            .with_context(|| format!("ILM_BENCH_CONTACTS={v:?}"))?,
        Err(_) if measuring => 100_000,
        Err(_) => 2_000,
    };
    let (runs, scans) = match (measuring, n >= 500_000) {
        // A read of every contact takes seconds at a million.
        (true, true) => (50, 2),
        (true, false) => (50, 5),
        (false, _) => (3, 2),
    };
    let tmp = tempfile::tempdir()?;
    let store = schema::open(&tmp.path().join("db"))?;
    let vault = Vault::open(&DataDir::new(tmp.path()))?;
    // Seeding keeps the index as a node's intake does; without a rebuild after it, the index
    // is marked built first, as a new node's first start does (an empty index).
    let rebuild = std::env::var("ILM_BENCH_REBUILD").map_or(true, |v| v != "no");
    if !rebuild {
        groups::ensure(&store, &vault)?;
    }
    let started = Instant::now();
    seed(&store, &vault, n)?;
    let seeded = started.elapsed();
    // The rebuild's own peak: the high-water mark is reset after seeding (Linux); what the
    // seeding left resident (allocator, engine cache) is shown beside it.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let resident = rss_mb("VmRSS:");
    let started = Instant::now();
    let indexed = if rebuild {
        groups::rebuild(&store, &vault)?
    } else {
        n as usize
    };
    let rebuilt = started.elapsed();
    println!(
        "resident before the rebuild {resident:.0} MB, peak while {} {:.0} MB",
        if !rebuild {
            "not rebuilding"
        } else if reset {
            "rebuilding"
        } else {
            "seeding or rebuilding (the peak could not be reset)"
        },
        rss_mb("VmHWM:")
    );
    if indexed as u64 != n {
        bail!("the rebuild indexed {indexed} contacts of {n}");
    }
    println!(
        "{n} contacts: seeded with their index in {:.1} s; {}",
        seeded.as_secs_f64(),
        if rebuild {
            format!(
                "the index rebuilt from them in {:.1} s",
                rebuilt.as_secs_f64()
            )
        } else {
            "not rebuilt (ILM_BENCH_REBUILD=no)".into()
        }
    );
    let rows: Vec<(Vec<u8>, signatures::Row)> = store.scan_with_ids(&schema::SEARCH_ROWS)?;
    println!(
        "search index: {} rows of signature bits, {:.1} MB",
        rows.len(),
        rows.iter().map(|(id, r)| id.len() + r.len()).sum::<usize>() as f64 / 1e6
    );

    // `ilm reindex --check`'s two passes over the contact index (without and with the vault).
    if std::env::var("ILM_BENCH_CHECK").is_ok_and(|v| v == "yes") {
        use ilm_node::contact_list::recount;
        let started = Instant::now();
        let lists = recount::check(&store, &mut |_| {})?;
        let without = started.elapsed();
        let started = Instant::now();
        let sealed = recount::check_sealed(&store, &vault, &mut |_| {})?;
        let with = started.elapsed();
        if !matches!(lists, recount::Checked::Matches { .. })
            || !matches!(sealed, recount::SealedChecked::Matches { .. })
        {
            bail!("the check found differences: {lists:?} {sealed:?}");
        }
        println!(
            "ilm reindex --check, contact index: {:.1} s without the vault, {:.1} s with it; peak resident {:.0} MB",
            without.as_secs_f64(),
            with.as_secs_f64(),
            rss_mb("VmHWM:")
        );
    }
    let i18n = ilm_node::i18n::I18n::load().map_err(anyhow::Error::msg)?;
    let (en, th) = (i18n.table("en"), i18n.table("th"));
    let repeat_caller = contact(&vault, 9)?.0.id;
    // A worker whose number has varied digits, and one whose number repeats one digit (333333
    // at a million: one three-letter group, so its bits narrow least: the worst case).
    let (varied, repeated) = (n / 3 + n / 100 * 3 + 4, n / 3);
    let searched = format!("worker {varied}");
    let searched_repeated = format!("worker {repeated}");
    // Six digits of the searched worker's number, as written in its identity.
    let digits = format!("{}", 800_000_000 + varied)[3..].to_string();
    let search = |q: &str| ContactQuery {
        q: q.into(),
        ..Default::default()
    };
    let cases: Vec<(&str, ContactQuery, Seen)> = vec![
        ("first page", ContactQuery::default(), Seen::All),
        (
            "page 100",
            ContactQuery {
                page: 100,
                ..Default::default()
            },
            Seen::All,
        ),
        (
            "repeat callers",
            ContactQuery {
                repeat: true,
                ..Default::default()
            },
            Seen::All,
        ),
        (
            "an intake operator's own",
            ContactQuery::default(),
            Seen::RecordedBy(OPERATORS[1].into()),
        ),
        (
            "one worker's contacts",
            ContactQuery {
                same_as: repeat_caller.to_string(),
                ..Default::default()
            },
            Seen::All,
        ),
        ("search (a name)", search(&searched), Seen::All),
        (
            "search (a name of one digit repeated)",
            search(&searched_repeated),
            Seen::All,
        ),
        (
            "search (six digits of a number)",
            search(&digits),
            Seen::All,
        ),
        (
            "search (a name, an intake operator)",
            search(&searched),
            Seen::RecordedBy(OPERATORS[(varied % 4) as usize].into()),
        ),
        // A word in values: the lists of its sets of values, and the others whose bits may
        // hold it (one in fifty names the sector in its notes).
        ("search (a sector)", search("seafood"), Seen::All),
        (
            "search (a sector, page 100)",
            ContactQuery {
                page: 100,
                ..search("seafood")
            },
            Seen::All,
        ),
        (
            "search (a sector, an intake operator)",
            search("seafood"),
            // Operator 0 records contacts 0, 4, 8...: every third of them is of the sector.
            Seen::RecordedBy(OPERATORS[0].into()),
        ),
        (
            "search (a sector and a country)",
            search("seafood cambodia"),
            Seen::All,
        ),
        (
            "search (a sector, repeat callers)",
            ContactQuery {
                repeat: true,
                ..search("seafood")
            },
            Seen::All,
        ),
        (
            "search (a word in every set's values)",
            search("thailand"),
            Seen::All,
        ),
        // A word in every contact's notes narrows nothing: the list is walked newest first
        // to the page and a thousand more (the total then a lower bound).
        (
            "search (a word every contact holds)",
            search("sample"),
            Seen::All,
        ),
        (
            "search (a word every contact holds, page 100)",
            ContactQuery {
                page: 100,
                ..search("sample")
            },
            Seen::All,
        ),
        // The walk's worst case: a word too short to look up that nobody holds. The walk
        // reads its budget (8 contacts per match wanted) and gives up; every contact is read.
        (
            "search (a short word nobody holds)",
            search("zq"),
            Seen::All,
        ),
    ];
    println!("| page | index p50 | index p99 | scan p50 | scan / index (p50) |");
    println!("|---|---:|---:|---:|---:|");
    let labels = |c: &ilm_node::contact_list::ContactSummary| labelled(en, th, c);
    let listed =
        |query: &ContactQuery, seen: &Seen| select(&store, &vault, query, seen, true, &labels);
    let scanned = |query: &ContactQuery, seen: &Seen| {
        scan::select(&store, &vault, query, seen, true, &labels)
    };
    let only = std::env::var("ILM_BENCH_PAGES").unwrap_or_default();
    let chosen = |name: &str| only.split('|').any(|part| name.contains(part));
    for (name, query, seen) in cases.iter().filter(|(name, ..)| chosen(name)) {
        let fast = listed(query, seen)?;
        let full = scanned(query, seen)?;
        // A search nothing narrows stops counting past its page (`walk`): its rows are the
        // scan's, its total a lower bound of the scan's.
        let same = if fast.more {
            serde_json::to_value(&fast.contacts)? == serde_json::to_value(&full.contacts)?
                && fast.total <= full.total
        } else {
            serde_json::to_value(&fast)? == serde_json::to_value(&full)?
        };
        if !same {
            bail!("{name}: the index's page differs from the scan's");
        }
        // At most `runs`, and no more than three once 20 s went by: a search that reads
        // every contact takes seconds at a million.
        let mut index_times = Vec::new();
        let started = Instant::now();
        while index_times.len() < runs
            && (index_times.len() < 3 || started.elapsed() < Duration::from_secs(20))
        {
            let t = Instant::now();
            listed(query, seen)?;
            index_times.push(t.elapsed());
        }
        let mut scan_times = Vec::new();
        for _ in 0..scans {
            let t = Instant::now();
            scanned(query, seen)?;
            scan_times.push(t.elapsed());
        }
        let (p50, p99) = quantiles(index_times);
        let (s50, _) = quantiles(scan_times);
        println!(
            "| {name} ({} of {}{} listed) | {p50:.2} ms | {p99:.2} ms | {s50:.1} ms | {:.0}x |",
            fast.contacts.len(),
            if fast.more { "at least " } else { "" },
            fast.total,
            s50 / p50
        );
    }
    Ok(())
}
