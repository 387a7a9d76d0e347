//! Installs what the build and the root tests need, and nothing that is already there.
//!
//! - the nightly toolchain's `rust-src` (for `-Z build-std=core` on bpfel-unknown-none);
//! - bpf-linker, built against the LLVM inside the nightly toolchain: a plain
//!   `cargo install bpf-linker` wants a system LLVM of the same major version, which Debian and
//!   Ubuntu do not ship. The `llvm-NN` feature comes from `rustc +nightly -vV`;
//! - the Debian packages the build links against (libsystemd for the live journal reader);
//! - with `--packages` (root, apt): the Debian packages the root tests use.
use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

use crate::cmd;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also install the Debian packages the root tests need (needs root and apt-get).
    #[arg(long)]
    pub packages: bool,
}

/// Debian packages the build needs: libsystemd (sd-journal) and pkg-config to find it.
pub const BUILD_PACKAGES: &[&str] = &["libsystemd-dev", "pkg-config"];

/// Debian packages of the root tests: sshd and a password client, journald, namespaces.
pub const TEST_PACKAGES: &[&str] = &[
    "openssh-server",
    "openssh-client",
    "sshpass",
    "systemd",
    "iproute2",
    "procps",
    "util-linux",
];

pub fn setup(args: &Args) -> anyhow::Result<()> {
    toolchain()?;
    if args.packages {
        packages(TEST_PACKAGES)?;
    }
    Ok(())
}

/// Nightly with rust-src, and a working bpf-linker for its LLVM.
pub fn toolchain() -> anyhow::Result<()> {
    packages(BUILD_PACKAGES)?;
    if !cmd::succeeds(Command::new("rustc").args(["+nightly", "--version"])) {
        cmd::status(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
            "--component",
            "rust-src,clippy,rustfmt",
        ]))?;
    }
    let sysroot = PathBuf::from(
        cmd::output(Command::new("rustc").args(["+nightly", "--print", "sysroot"]))?.trim(),
    );
    if !sysroot.join("lib/rustlib/src/rust/library/core").exists() {
        cmd::status(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            "nightly",
        ]))?;
    }
    bpf_linker(&sysroot)
}

/// The LLVM major version of the nightly toolchain (`LLVM version: 22.1.4` → 22).
fn llvm_major() -> anyhow::Result<u32> {
    let vv = cmd::output(Command::new("rustc").args(["+nightly", "-vV"]))?;
    parse_llvm_major(&vv).context("`rustc +nightly -vV` printed no `LLVM version:` line")
}

fn parse_llvm_major(vv: &str) -> Option<u32> {
    let version = vv
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version:"))?
        .trim();
    version.split('.').next()?.parse().ok()
}

/// Where the LLVM links for bpf-linker live; the binary carries an rpath to `PREFIX/lib`.
fn linker_prefix() -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    Ok(PathBuf::from(home).join(".local/share/sensor/bpf-linker"))
}

fn bpf_linker(sysroot: &Path) -> anyhow::Result<()> {
    let major = llvm_major()?;
    let prefix = linker_prefix()?;
    let stamp = prefix.join("llvm-major");
    let built_for = fs::read_to_string(&stamp)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    let runs = cmd::succeeds(Command::new("bpf-linker").arg("--version"));
    // Link the toolchain's libLLVM under both the plain name (for the build) and its soname (for
    // the loader at run time); a nightly update changes both, so refresh them every time.
    let lib = prefix.join("lib");
    fs::create_dir_all(&lib).with_context(|| format!("creating {}", lib.display()))?;
    let libllvm = find_libllvm(&sysroot.join("lib"), major)?;
    let soname = libllvm
        .file_name()
        .context("libLLVM path has no file name")?;
    for name in [Path::new("libLLVM.so"), Path::new(soname)] {
        let link = lib.join(name);
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&libllvm, &link)
            .with_context(|| format!("linking {} to {}", link.display(), libllvm.display()))?;
    }
    if runs
        && built_for == Some(major)
        && cmd::succeeds(Command::new("bpf-linker").arg("--version"))
    {
        return Ok(());
    }
    eprintln!(
        "xtask: building bpf-linker against the nightly toolchain's LLVM {major} (about a minute)"
    );
    cmd::status(
        Command::new("cargo")
            .args([
                "install",
                "bpf-linker",
                "--locked",
                "--force",
                "--no-default-features",
            ])
            .args(["--features", &format!("llvm-{major}")])
            .env("LLVM_PREFIX", &prefix),
    )?;
    if !cmd::succeeds(Command::new("bpf-linker").arg("--version")) {
        bail!("bpf-linker was installed but does not run (is ~/.cargo/bin on PATH?)");
    }
    fs::write(&stamp, major.to_string()).with_context(|| format!("writing {}", stamp.display()))
}

/// `libLLVM.so.NN.*` (the soname) or `libLLVM-NN*.so` in the toolchain's lib directory.
fn find_libllvm(dir: &Path, major: u32) -> anyhow::Result<PathBuf> {
    let soname = format!("libLLVM.so.{major}");
    let plain = format!("libLLVM-{major}");
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.starts_with(&soname) || (name.starts_with(&plain) && name.ends_with(".so"))
        })
        .collect();
    // Prefer the soname form: it is what the linker's binary asks the loader for.
    found.sort_by_key(|p| !p.to_string_lossy().contains(".so."));
    found.into_iter().next().with_context(|| {
        format!(
            "no libLLVM for LLVM {major} in {} (is the nightly toolchain complete?)",
            dir.display()
        )
    })
}

/// The `evtx` crate's `evtx_dump` at `version` (for `cargo xtask bench evtx`), installed with
/// `cargo install evtx --version VERSION --locked` into `~/.local/share/sensor/evtx-VERSION`
/// when it is not there yet (a few minutes). Returns the binary's path.
pub fn evtx_dump(version: &str) -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let root = PathBuf::from(home).join(format!(".local/share/sensor/evtx-{version}"));
    let bin = root.join("bin/evtx_dump");
    // `evtx_dump --version` prints `EVTX Parser 0.15.1`.
    let runs = || {
        cmd::output(Command::new(&bin).arg("--version"))
            .is_ok_and(|v| v.split_whitespace().last() == Some(version))
    };
    if runs() {
        return Ok(bin);
    }
    eprintln!(
        "xtask: installing evtx_dump {version} into {}",
        root.display()
    );
    cmd::status(
        Command::new("cargo")
            .args([
                "install",
                "evtx",
                "--version",
                version,
                "--locked",
                "--force",
            ])
            .arg("--root")
            .arg(&root),
    )?;
    if !runs() {
        bail!("{} was installed but does not run", bin.display());
    }
    Ok(bin)
}

/// Installs the missing Debian packages with apt-get, as root or through `sudo -n`. Fails,
/// naming them, where it cannot.
pub fn packages(wanted: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = wanted.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let apt = cmd::succeeds(Command::new("apt-get").arg("--version"));
    let sudo = !cmd::is_root() && cmd::succeeds(Command::new("sudo").args(["-n", "true"]));
    if !apt || !(cmd::is_root() || sudo) {
        bail!(
            "missing Debian packages: {} (install them as root: apt-get install {})",
            missing.join(" "),
            missing.join(" ")
        );
    }
    let apt_get = || {
        let mut c = Command::new(if sudo { "sudo" } else { "apt-get" });
        if sudo {
            c.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        }
        c.env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    cmd::status(apt_get().args(["update", "-qq"]))?;
    cmd::status(
        apt_get()
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing),
    )
}

fn installed(package: &str) -> bool {
    cmd::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_ok_and(|s| s.contains("install ok installed"))
}

#[cfg(test)]
mod tests {
    use super::parse_llvm_major;

    #[test]
    fn reads_llvm_major_from_rustc_vv() {
        let vv = "rustc 1.97.0-nightly\nhost: x86_64-unknown-linux-gnu\nLLVM version: 22.1.4\n";
        assert_eq!(parse_llvm_major(vv), Some(22));
        assert_eq!(parse_llvm_major("rustc 1.0\n"), None);
    }
}
