//! Invariants of the source tree, checked by a test (as rust-analyzer's `tidy` checks its
//! own): every source file of the node and protocol crates says what it is for in a module
//! doc comment before anything else, and stays short enough to read whole.

use std::path::{Path, PathBuf};

/// The most lines a source file may hold: split a longer one where it holds two ideas.
const MOST_LINES: usize = 600;

/// Every `.rs` file under `dir`, at any depth.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
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
    if lines > MOST_LINES {
        out.push(format!(
            "{name}: {lines} lines, more than {MOST_LINES}: split it where it holds two ideas"
        ));
    }
    out
}

#[test]
fn every_source_file_says_what_it_is_for_and_is_short() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    sources(&root.join("../protocol/src"), &mut files);
    assert!(
        files.len() > 100 && files.iter().any(|f| f.ends_with("tidy.rs")),
        "the control: the walk finds the sources ({} files)",
        files.len()
    );
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.strip_prefix(root).unwrap_or(f).display().to_string();
        found.extend(problems(&name, &text));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The controls: the check finds a file one line too long, and one without its doc comment.
#[test]
fn the_check_finds_a_long_file_and_one_without_its_doc() {
    let at_most = format!("//! A file.\n{}", "fn f() {}\n".repeat(MOST_LINES - 1));
    assert_eq!(problems("a.rs", &at_most), Vec::<String>::new());
    let longer = format!("{at_most}fn g() {{}}\n");
    assert_eq!(problems("b.rs", &longer).len(), 1, "{longer:?}");
    assert_eq!(problems("c.rs", "use std::fs;\n").len(), 1);
    assert_eq!(problems("d.rs", "// A comment.\n").len(), 1);
}
