//! Builds `sensor-ebpf` for `bpfel-unknown-none` (nightly, `-Z build-std=core`, bpf-linker) and
//! leaves the object in `OUT_DIR`, where `src/source/ebpf` embeds it.
//!
//! The toolchain pieces are installed by `cargo xtask setup` (which `cargo xtask run` and
//! `cargo xtask test` call first).
use std::process::Command;

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
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
