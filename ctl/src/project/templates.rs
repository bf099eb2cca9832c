//! The project templates `floe new` writes, shipped inside the `floe`
//! binary: per language and template, the sources, the WIT world (with the
//! WIT it depends on), the build files, a README of three commands, a
//! `.gitignore` and the `floe.toml`. `{{name}}` in a file becomes the
//! actor's name.

use std::path::{Path, PathBuf};

use super::{Language, MANIFEST, Template};

/// One file of a new project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFile {
    pub path: &'static str,
    pub text: String,
}

/// The WIT of `wasi:keyvalue` as Floe's hosts provide it.
const KEYVALUE_WIT: &[(&str, &str)] = &[
    (
        "wit/deps/wasi-keyvalue/atomic.wit",
        include_str!("../../../interfaces/wit/examples/deps/wasi-keyvalue/atomic.wit"),
    ),
    (
        "wit/deps/wasi-keyvalue/batch.wit",
        include_str!("../../../interfaces/wit/examples/deps/wasi-keyvalue/batch.wit"),
    ),
    (
        "wit/deps/wasi-keyvalue/store.wit",
        include_str!("../../../interfaces/wit/examples/deps/wasi-keyvalue/store.wit"),
    ),
    (
        "wit/deps/wasi-keyvalue/world.wit",
        include_str!("../../../interfaces/wit/examples/deps/wasi-keyvalue/world.wit"),
    ),
];

/// The WASI 0.2.12 WIT wasmtime-wasi-http 48 links (unmodified), which
/// componentize-py and componentize-js need to export `wasi:http`.
const WASI_HTTP_WIT: &[(&str, &str)] = &[
    (
        "wit/deps/cli.wit",
        include_str!("../../../interfaces/wit/wasi-http-0.2.12/cli.wit"),
    ),
    (
        "wit/deps/clocks.wit",
        include_str!("../../../interfaces/wit/wasi-http-0.2.12/clocks.wit"),
    ),
    (
        "wit/deps/filesystem.wit",
        include_str!("../../../interfaces/wit/wasi-http-0.2.12/filesystem.wit"),
    ),
    (
        "wit/deps/http.wit",
        include_str!("../../../interfaces/wit/wasi-http-0.2.12/http.wit"),
    ),
    (
        "wit/deps/io.wit",
        include_str!("../../../interfaces/wit/wasi-http-0.2.12/io.wit"),
    ),
    (
        "wit/deps/random.wit",
        include_str!("../../../interfaces/wit/wasi-http-0.2.12/random.wit"),
    ),
    (
        "wit/deps/sockets.wit",
        include_str!("../../../interfaces/wit/wasi-http-0.2.12/sockets.wit"),
    ),
];

/// The world of each template, the same in every language.
fn world(template: Template) -> &'static str {
    match template {
        Template::Hello => include_str!("../../templates/wit/hello/world.wit"),
        Template::Http => include_str!("../../templates/wit/http/world.wit"),
        Template::Kv => include_str!("../../templates/wit/kv/world.wit"),
    }
}

const RUST_CARGO: &str = include_str!("../../templates/rust/Cargo.toml.tmpl");
const WIT_BINDGEN: &str = r#"wit-bindgen = { version = "0.46", default-features = false, features = ["macros", "realloc"] }"#;
const WASI: &str = r#"wasi = { version = "0.14.7", default-features = false }"#;

/// The files of a new `language` project from `template`, named `name`
/// (a valid actor name).
pub fn files(name: &str, language: Language, template: Template) -> Vec<TemplateFile> {
    let mut files: Vec<(&'static str, String)> = Vec::new();
    let mut add = |path: &'static str, text: &str| files.push((path, text.to_owned()));
    match language {
        Language::Rust => {
            let deps = match template {
                Template::Http => WASI,
                Template::Hello | Template::Kv => WIT_BINDGEN,
            };
            add("Cargo.toml", &RUST_CARGO.replace("{{deps}}", deps));
            add(".gitignore", "/target\n*.wasm\n");
            add(
                "src/lib.rs",
                match template {
                    Template::Hello => include_str!("../../templates/rust/hello/src/lib.rs"),
                    Template::Http => include_str!("../../templates/rust/http/src/lib.rs"),
                    Template::Kv => include_str!("../../templates/rust/kv/src/lib.rs"),
                },
            );
            // The `wasi` crate carries the WIT of wasi:http itself.
            if template != Template::Http {
                add("wit/world.wit", world(template));
            }
        }
        Language::Python => {
            add(
                "requirements.txt",
                include_str!("../../templates/python/requirements.txt"),
            );
            add(".gitignore", "/target\n__pycache__/\n.venv/\n*.wasm\n");
            add(
                "app.py",
                match template {
                    Template::Hello => include_str!("../../templates/python/hello/app.py"),
                    Template::Http => include_str!("../../templates/python/http/app.py"),
                    Template::Kv => include_str!("../../templates/python/kv/app.py"),
                },
            );
            add("wit/world.wit", world(template));
        }
        Language::Js => {
            add(
                "package.json",
                include_str!("../../templates/js/package.json"),
            );
            add(".gitignore", "/target\nnode_modules/\n*.wasm\n");
            add(
                "app.js",
                match template {
                    Template::Hello => include_str!("../../templates/js/hello/app.js"),
                    Template::Http => include_str!("../../templates/js/http/app.js"),
                    Template::Kv => include_str!("../../templates/js/kv/app.js"),
                },
            );
            add("wit/world.wit", world(template));
        }
    }
    let deps: &[(&'static str, &str)] = match (language, template) {
        (_, Template::Kv) => KEYVALUE_WIT,
        (Language::Python | Language::Js, Template::Http) => WASI_HTTP_WIT,
        _ => &[],
    };
    let mut out: Vec<TemplateFile> = files
        .into_iter()
        .map(|(path, text)| TemplateFile {
            path,
            text: text.replace("{{name}}", name),
        })
        .collect();
    // Others' WIT, as it is.
    out.extend(deps.iter().map(|(path, text)| TemplateFile {
        path,
        text: (*text).to_owned(),
    }));
    out.push(TemplateFile {
        path: "README.md",
        text: readme(language, template).replace("{{name}}", name),
    });
    out.push(TemplateFile {
        path: MANIFEST,
        text: manifest(name, language, template),
    });
    out
}

fn manifest(name: &str, language: Language, template: Template) -> String {
    let language = match language {
        Language::Rust => "rust",
        Language::Python => "python",
        Language::Js => "js",
    };
    let template = template_name(template);
    format!(
        "# A Floe actor project: `floe build` builds and signs it, `floe dev` runs it.\n\
         [actor]\n\
         name = \"{name}\"\n\
         version = \"0.1.0\"\n\
         language = \"{language}\"\n\
         # What `floe dev` wires it to (http: the http-server provider; kv: the keyvalue provider).\n\
         template = \"{template}\"\n"
    )
}

pub fn template_name(template: Template) -> &'static str {
    match template {
        Template::Hello => "hello",
        Template::Http => "http",
        Template::Kv => "kv",
    }
}

fn readme(language: Language, template: Template) -> String {
    let language = match language {
        Language::Rust => "Rust",
        Language::Python => "Python",
        Language::Js => "JavaScript",
    };
    let (what, try_it) = match template {
        Template::Hello => (
            "exports one function, `hello`",
            "floe call {{name}} hello '[\"world\"]'   # \"Hello, world!\"",
        ),
        Template::Http => (
            "serves HTTP (`wasi:http/incoming-handler`)",
            "curl http://127.0.0.1:PORT/           # the URL `floe dev` prints",
        ),
        Template::Kv => (
            "counts in `wasi:keyvalue`",
            "floe call {{name}} increment '[\"visits\"]'   # 1, then 2, …",
        ),
    };
    format!(
        "# {{{{name}}}}\n\n\
         A Floe actor in {language} that {what}.\n\n\
         ```sh\n\
         floe build   # build and sign it: prints the signed file and the actor id\n\
         floe dev     # run it on the local lattice; every saved change is rebuilt and swapped in\n\
         {try_it}\n\
         ```\n\n\
         How actors are written, signed, linked and called: Floe's `docs/writing-actors.md`.\n"
    )
}

/// Writes `files` under `dir`, which must not exist yet or be empty.
pub fn write(dir: &Path, files: &[TemplateFile]) -> std::io::Result<Vec<PathBuf>> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not empty: choose another name or directory",
                dir.display()
            ),
        ));
    }
    let mut written = Vec::new();
    for file in files {
        let path = dir.join(file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &file.text)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_names_its_actor_and_leaves_no_placeholder() {
        for (language, template) in [Language::Rust, Language::Python, Language::Js]
            .into_iter()
            .flat_map(|l| [Template::Hello, Template::Http, Template::Kv].map(|t| (l, t)))
        {
            let files = files("my-actor", language, template);
            for file in &files {
                assert!(
                    !file.text.contains("{{"),
                    "{} keeps a placeholder",
                    file.path
                );
            }
            let manifest = files.iter().find(|f| f.path == MANIFEST).expect("manifest");
            let parsed: super::super::Manifest = toml::from_str(&manifest.text).expect("toml");
            assert_eq!(parsed.actor.name, "my-actor");
            assert_eq!(parsed.actor.template, template);
            assert_eq!(parsed.actor.language, language);
            let (build_file, source) = match language {
                Language::Rust => ("Cargo.toml", "src/lib.rs"),
                Language::Python => ("requirements.txt", "app.py"),
                Language::Js => ("package.json", "app.js"),
            };
            for wanted in ["README.md", ".gitignore", build_file, source] {
                assert!(files.iter().any(|f| f.path == wanted), "{wanted}");
            }
            let needs_world = !(language == Language::Rust && template == Template::Http);
            assert_eq!(files.iter().any(|f| f.path == "wit/world.wit"), needs_world);
        }
    }

    #[test]
    fn a_project_is_not_written_over_another() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("keep"), "mine").expect("written");
        let files = files("x", Language::Rust, Template::Hello);
        let e = write(dir.path(), &files).expect_err("not empty");
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("keep")).expect("kept"),
            "mine"
        );
    }
}
