//! Builds `sensor-ebpf` for `bpfel-unknown-none` (nightly, `-Z build-std=core`, bpf-linker) and
//! leaves the object in `OUT_DIR`, where `src/source/ebpf` embeds it.
//!
//! The toolchain pieces are installed by `cargo xtask setup` (which `cargo xtask run` and
//! `cargo xtask test` call first).
//!
//! It also lists every file under `rules/` (the shipped rules, their fixtures and the baseline
//! corpus) in `OUT_DIR/builtin_rules.rs`, which `src/detect/builtin.rs` embeds.
use std::process::Command;

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    embed_rules()?;
    let ebpf_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../sensor-ebpf");
    println!("cargo:rerun-if-env-changed=AYA_BUILD_SKIP");
    if std::env::var_os("AYA_BUILD_SKIP").is_some_and(|v| v == "1" || v == "true") {
        // Builds that never load programs (fuzzing, docs): embed an empty object, which
        // `Tracer::load` rejects with a clear message.
        let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").context("OUT_DIR")?);
        std::fs::write(out.join("sensor"), []).context("writing the empty eBPF object")?;
        return Ok(());
    }
    check_toolchain()?;
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "sensor-ebpf",
            root_dir: ebpf_dir,
            ..Default::default()
        }],
        aya_build::Toolchain::default(),
    )
    .context("building the eBPF programs (sensor-ebpf)")
}

/// Fails early, with the fix, when a piece of the eBPF toolchain is missing.
fn check_toolchain() -> anyhow::Result<()> {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("bpf-linker").is_file()));
    if !on_path {
        bail!("bpf-linker is not installed: run `cargo xtask setup` (or `cargo xtask run`) first");
    }
    let sysroot = Command::new("rustc")
        .args(["+nightly", "--print", "sysroot"])
        .output()
        .context("running `rustc +nightly --print sysroot`")?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout);
    let src = std::path::Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library/core");
    if !src.exists() {
        bail!(
            "the nightly toolchain lacks rust-src (needed for -Z build-std=core): run `cargo xtask setup`"
        );
    }
    Ok(())
}

/// Writes `FILES: &[(&str, &[u8])]`: each file under `rules/`, by its path relative to it.
fn embed_rules() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.context("listing rules/")?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(rel) = path.strip_prefix(&root) {
                files.push((rel.to_string_lossy().into_owned(), path.clone()));
            }
        }
    }
    files.sort();
    let mut code = String::from("pub static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, path) in files {
        code.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").context("OUT_DIR")?);
    std::fs::write(out.join("builtin_rules.rs"), code).context("writing builtin_rules.rs")
}
