//! The newcomer's guide is checked: README links to docs/writing-actors.md
//! and docs/getting-started.md does too, and every `floe` command shown in
//! a shell block of those documents parses as the CLI's grammar says
//! (`floe … --help` accepts it: unknown commands and flags fail). The path
//! it walks is run for real by `new_projects` and `dev`.

use std::path::Path;

use floe_tests::{FloeCli, paths};

const GUIDES: &[&str] = &[
    "docs/writing-actors.md",
    "docs/getting-started.md",
    "README.md",
];

/// The `floe …` command lines of the shell blocks of a Markdown text.
fn floe_commands(markdown: &str) -> Vec<String> {
    let mut in_shell = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        let trimmed = line.trim();
        if let Some(fence) = trimmed.strip_prefix("```") {
            in_shell = !in_shell && matches!(fence.trim(), "sh" | "bash" | "console" | "shell");
            continue;
        }
        if !in_shell {
            continue;
        }
        let command = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
        // Comments end a command; continuation lines are not used for floe.
        let command = command.split(" #").next().unwrap_or(command).trim();
        if command.ends_with('\\') {
            continue;
        }
        for part in command.split("&&").flat_map(|p| p.split(';')) {
            let part = part.trim();
            if part.starts_with("floe ") {
                out.push(part.to_owned());
            }
        }
    }
    out
}

/// Splits a command line into words, honouring '…' and "…" quotes.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quote) = (Vec::new(), String::new(), None::<char>);
    let mut started = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            (None, c) => word.push(c),
        }
    }
    if started || !word.is_empty() {
        out.push(word);
    }
    out
}

#[test]
fn the_guides_link_to_writing_actors() {
    let root = paths::workspace_root();
    assert!(root.join("docs/writing-actors.md").is_file());
    for (doc, link) in [
        ("README.md", "docs/writing-actors.md"),
        ("docs/getting-started.md", "writing-actors.md"),
    ] {
        let text = std::fs::read_to_string(root.join(doc)).expect("doc");
        assert!(text.contains(link), "{doc} links to {link}");
    }
}

#[test]
fn every_floe_command_in_the_guides_parses() {
    let root = paths::workspace_root();
    let cli = FloeCli::new().expect("cli");
    let mut checked = 0;
    for doc in GUIDES {
        let text = std::fs::read_to_string(root.join(doc)).expect("doc");
        for line in floe_commands(&text) {
            // Shell expansions are the reader's to fill in, and a synopsis
            // (`[--flag …]`, `…`) is not a command to run.
            if ['$', '<', '|', '…'].iter().any(|c| line.contains(*c)) || line.contains("[--") {
                continue;
            }
            // A redirection is the shell's, not floe's.
            let line = line.split(" > ").next().unwrap_or(&line).to_owned();
            let mut args = words(&line);
            args.remove(0);
            args.push("--help".to_owned());
            let mut command = cli.command();
            command.args(&args).current_dir(Path::new("/"));
            let out = cli.run_command(command);
            assert!(
                out.success,
                "{doc}: `{line}` does not parse:\n{}",
                out.stderr
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} commands found in the guides");
    eprintln!("{checked} floe commands of the guides parse");
}

#[test]
fn commands_are_found_and_split_as_a_shell_would() {
    let md = "text\n```sh\nfloe call hi hello '[\"world\"]'   # prints it\ncurl x\ncd a && floe dev\n```\nfloe not-in-a-block\n";
    assert_eq!(
        floe_commands(md),
        [r#"floe call hi hello '["world"]'"#, "floe dev"]
    );
    assert_eq!(
        words(r#"floe call hi hello '["world"]'"#),
        ["floe", "call", "hi", "hello", r#"["world"]"#]
    );
    assert_eq!(words("floe x ''"), ["floe", "x", ""]);
}
