//! Invariants of the source tree, checked by a test (as rust-analyzer's `tidy` checks its
//! own): every Rust file of the workspace (sources, tests, benches, examples; the fuzz
//! targets are a workspace of their own) says what it is for in a module doc comment
//! before anything else, and stays short enough to read whole.

use std::path::{Path, PathBuf};

/// The most lines a file may hold: split a longer one where it holds two ideas.
const MOST_LINES: usize = 600;

/// Test, bench and example files longer than [`MOST_LINES`] from before the check covered
/// them, each with the most lines it may hold: it may shrink, not grow, and leaves this
/// list once split.
const LONG_BEFORE: &[(&str, usize)] = &[
    ("node/benches/delivery.rs", 1470),
    ("protocol/examples/gen_vectors/main.rs", 1529),
];

/// Every file under `dir`, at any depth, in the directories whose names `enter` accepts.
fn files(dir: &Path, enter: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !path.is_dir() {
            out.push(path);
        } else if enter(name) {
            files(&path, enter, out);
        }
    }
}

/// Every `.rs` file under `dir`, at any depth, but in build output, hidden directories, the
/// fuzz targets' own workspace and the vendored crates (another project's code, checked
/// below against what it published).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut all = Vec::new();
    let enter =
        |name: &str| !(name.starts_with('.') || ["target", "fuzz", "vendor"].contains(&name));
    files(dir, &enter, &mut all);
    out.extend(
        all.into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rs")),
    );
}

/// The most lines the file `name` (from the workspace's root) may hold.
fn most_lines(name: &str) -> usize {
    LONG_BEFORE
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(MOST_LINES, |(_, most)| *most)
}

/// What is wrong with the file `name` holding `text`, if anything.
fn problems(name: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !text.starts_with("//!") {
        out.push(format!(
            "{name}: does not begin with a module doc comment (//!)"
        ));
    }
    let lines = text.lines().count();
    let most = most_lines(name);
    if lines > most {
        out.push(format!(
            "{name}: {lines} lines, more than {most}: split it where it holds two ideas"
        ));
    }
    if most > MOST_LINES && lines <= MOST_LINES {
        out.push(format!(
            "{name}: {lines} lines now: take it out of LONG_BEFORE"
        ));
    }
    out
}

#[test]
fn every_file_says_what_it_is_for_and_is_short() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds the node crate");
    let mut files = Vec::new();
    sources(root, &mut files);
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            let name = f.strip_prefix(root).unwrap_or(f);
            name.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    // The controls: the walk finds sources, tests, benches and examples, not build output.
    for expected in [
        "node/src/tidy.rs",
        "protocol/src/lib.rs",
        "tests/support/mod.rs",
        "node/benches/brand.rs",
        "protocol/examples/gen_vectors/main.rs",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} not found");
    }
    assert!(names.iter().all(|n| !n.starts_with("target/")));
    let mut found = Vec::new();
    for (f, name) in files.iter().zip(&names) {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        found.extend(problems(name, &text));
    }
    for (listed, _) in LONG_BEFORE {
        if !names.iter().any(|n| n == listed) {
            found.push(format!("{listed}: listed in LONG_BEFORE, not found"));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The controls: the check finds a file one line too long, one without its doc comment, a
/// listed file grown past its lines, and a listed file short enough to leave the list.
#[test]
fn the_check_finds_a_long_file_and_one_without_its_doc() {
    let at_most = format!("//! A file.\n{}", "fn f() {}\n".repeat(MOST_LINES - 1));
    assert_eq!(problems("a.rs", &at_most), Vec::<String>::new());
    let longer = format!("{at_most}fn g() {{}}\n");
    assert_eq!(problems("b.rs", &longer).len(), 1, "{longer:?}");
    assert_eq!(problems("c.rs", "use std::fs;\n").len(), 1);
    assert_eq!(problems("d.rs", "// A comment.\n").len(), 1);
    let (listed, most) = LONG_BEFORE[0];
    let as_long = format!("//! A file.\n{}", "fn f() {}\n".repeat(most - 1));
    assert_eq!(problems(listed, &as_long), Vec::<String>::new());
    assert_eq!(
        problems(listed, &format!("{as_long}fn g() {{}}\n")).len(),
        1
    );
    assert_eq!(problems(listed, &at_most).len(), 1, "short enough to leave");
}

/// The files of the vendored engine (`vendor/sled`) that differ from what its project
/// published, each for a reason `vendor/sled/PATCHED.md` gives.
const PATCHED: &[&str] = &[
    "Cargo.toml",
    "src/config.rs",
    "src/lib.rs",
    "src/lru.rs",
    "src/pagecache/mod.rs",
];

/// The vendored engine's files that are ours: what was changed and why, and the published
/// files' hashes.
const OURS: &[&str] = &["PATCHED.md", "UPSTREAM-SHA256"];

/// The SHA-256 of `bytes`, in hex as `sha256sum` writes it.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    ilm_protocol::bytes::to_hex(&sha2::Sha256::digest(bytes))
}

/// What is wrong with the vendored file `name` holding `bytes`, the published one's hash
/// being `published` (hex).
fn vendored_problem(name: &str, bytes: &[u8], published: &str) -> Option<String> {
    let patched = PATCHED.contains(&name);
    match (sha256_hex(bytes) == published, patched) {
        (false, false) => Some(format!(
            "vendor/sled/{name}: not as published, and not listed as patched (PATCHED.md)"
        )),
        (true, true) => Some(format!(
            "vendor/sled/{name}: as published, but listed as patched: take it off the list"
        )),
        _ => None,
    }
}

#[test]
fn the_vendored_engine_is_as_published_but_for_its_patches() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendor/sled");
    let sums = std::fs::read_to_string(dir.join("UPSTREAM-SHA256")).expect("the published hashes");
    let mut listed = Vec::new();
    let mut found = Vec::new();
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").expect("a hash and a file's name");
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        found.extend(vendored_problem(name, &bytes, hash));
        listed.push(name.to_string());
    }
    let mut vendored = Vec::new();
    // Hidden directories too: a build script or a file a patched source includes would be
    // built as the engine's.
    files(&dir, &|_| true, &mut vendored);
    assert!(vendored.len() > 50, "{} files found", vendored.len());
    for f in vendored {
        let name = f
            .strip_prefix(&dir)
            .unwrap_or(&f)
            .to_string_lossy()
            .replace('\\', "/");
        if !listed.contains(&name) && !OURS.contains(&name.as_str()) {
            found.push(format!("vendor/sled/{name}: not in what was published"));
        }
    }
    for name in PATCHED {
        if !listed.iter().any(|l| l == name) {
            found.push(format!("vendor/sled/{name}: listed as patched, not found"));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The controls: a byte changed in a file not listed is found, and so is a listed file
/// that is as published.
#[test]
fn the_check_finds_a_vendored_file_changed_or_listed_for_nothing() {
    let published = sha256_hex(b"fn f() {}\n");
    assert_eq!(
        vendored_problem("src/a.rs", b"fn f() {}\n", &published),
        None
    );
    assert!(vendored_problem("src/a.rs", b"fn g() {}\n", &published).is_some());
    assert!(vendored_problem("src/lib.rs", b"fn f() {}\n", &published).is_some());
    assert_eq!(
        vendored_problem("src/lib.rs", b"fn g() {}\n", &published),
        None
    );
}
