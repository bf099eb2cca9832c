//! Records the target triple the host is built for, so it picks the right
//! binary out of a provider archive.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=FLOE_HOST_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
