//! `cargo xtask deb`: the release sensor as a Debian package,
//! `target/debian/sensor_VERSION_ARCH.deb`, holding
//!
//! - `/usr/bin/sensor`;
//! - `/lib/systemd/system/sensor.service` (`packaging/sensor.service`);
//! - `/etc/sensor/config.toml` (`packaging/config.toml`) and `/etc/logrotate.d/sensor`
//!   (`packaging/sensor.logrotate`), both conffiles: an upgrade keeps the administrator's edits;
//! - `/usr/share/sensor/rules/*.toml`, every rule file of `sensor/rules/` (none, with a warning,
//!   while that directory does not exist);
//! - `/usr/share/doc/sensor/README.md`;
//! - maintainer scripts (`packaging/deb/`): reload systemd, restart on upgrade, stop on removal.
//!   Installing does not enable the service: review the configuration, then
//!   `systemctl enable --now sensor`.
//!
//! `Depends` is computed by `dpkg-shlibdeps` from the binary's shared libraries and the
//! installed packages' symbols files (e.g. `libc6 (>= 2.34), libgcc-s1 (>= 4.2), libsystemd0`),
//! so it follows the build machine: build on the oldest release the package is for.
use std::{
    fs,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

use crate::{cmd, run, setup};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pack the binary already at target/release/sensor instead of building it first.
    #[arg(long)]
    pub no_build: bool,
}

const PACKAGE: &str = "sensor";
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Conffiles: dpkg asks before replacing one the administrator edited.
const CONFFILES: &[&str] = &["/etc/sensor/config.toml", "/etc/logrotate.d/sensor"];

pub fn deb(args: &Args) -> anyhow::Result<()> {
    let bin = if args.no_build {
        let bin = run::target_dir()?.join("release/sensor");
        bin.canonicalize()
            .with_context(|| format!("--no-build: no release binary at {}", bin.display()))?
    } else {
        setup::toolchain()?;
        run::build_sensor(true)?
    };
    if !cmd::succeeds(Command::new("dpkg-shlibdeps").arg("--version")) {
        setup::packages(&["dpkg-dev"])?;
    }
    let arch = cmd::output(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_owned();
    let out_dir = run::target_dir()?.join("debian");
    create_dirs(&out_dir)?;
    let out_dir = out_dir
        .canonicalize()
        .with_context(|| format!("resolving {}", out_dir.display()))?;
    // dpkg-shlibdeps wants a source-package layout: WORK/debian/control, the tree in
    // WORK/debian/PACKAGE.
    let work = out_dir.join("work");
    let root = work.join("debian").join(PACKAGE);
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    }
    let repo = cmd::workspace_root();
    let packaging = repo.join("packaging");

    install(&bin, &root.join("usr/bin/sensor"), 0o755)?;
    install(
        &packaging.join("sensor.service"),
        &root.join("lib/systemd/system/sensor.service"),
        0o644,
    )?;
    install(
        &packaging.join("config.toml"),
        &root.join("etc/sensor/config.toml"),
        0o644,
    )?;
    install(
        &packaging.join("sensor.logrotate"),
        &root.join("etc/logrotate.d/sensor"),
        0o644,
    )?;
    install(
        &repo.join("README.md"),
        &root.join("usr/share/doc/sensor/README.md"),
        0o644,
    )?;
    let rules = copy_rules(
        &repo.join("sensor/rules"),
        &root.join("usr/share/sensor/rules"),
    )?;

    let debian = root.join("DEBIAN");
    for script in ["postinst", "prerm", "postrm"] {
        install(
            &packaging.join("deb").join(script),
            &debian.join(script),
            0o755,
        )?;
    }
    write(
        &debian.join("conffiles"),
        &format!("{}\n", CONFFILES.join("\n")),
    )?;
    write(
        &work.join("debian/control"),
        "Source: sensor\n\nPackage: sensor\nArchitecture: any\n",
    )?;
    let depends = shlib_depends(&work)?;
    let control = control(&arch, &depends, installed_kib(&root)?);
    write(&debian.join("control"), &control)?;

    let deb = out_dir.join(format!("{PACKAGE}_{VERSION}_{arch}.deb"));
    cmd::status(
        Command::new("dpkg-deb")
            .args(["--build", "--root-owner-group"])
            .arg(&root)
            .arg(&deb),
    )?;
    eprintln!("xtask: Depends: {depends}; {rules} rule file(s)");
    println!("{}", deb.display());
    Ok(())
}

/// The `control` file.
fn control(arch: &str, depends: &str, installed_kib: u64) -> String {
    let maintainer = std::env::var("DEBEMAIL")
        .map(|email| {
            let name = std::env::var("DEBFULLNAME").unwrap_or_else(|_| "sensor".to_owned());
            format!("{name} <{email}>")
        })
        .unwrap_or_else(|_| "sensor maintainers <sensor@example.invalid>".to_owned());
    format!(
        "Package: {PACKAGE}\n\
         Version: {VERSION}\n\
         Architecture: {arch}\n\
         Maintainer: {maintainer}\n\
         Installed-Size: {installed_kib}\n\
         Depends: {depends}\n\
         Section: admin\n\
         Priority: optional\n\
         Description: host sensor for SSH lateral movement\n \
         Follows sshd and every process of its sessions with eBPF, and sshd's own\n \
         log records (journald or auth.log), and alerts when someone logs in with a\n \
         password from inside the network, with what the session ran. Alerts are\n \
         JSON Lines with ECS field names, on stdout, a file or journald.\n"
    )
}

/// `Depends` from `dpkg-shlibdeps`, run in `work` on the staged binary.
fn shlib_depends(work: &Path) -> anyhow::Result<String> {
    let out = cmd::output(
        Command::new("dpkg-shlibdeps")
            .args(["-O", "-edebian/sensor/usr/bin/sensor"])
            .current_dir(work),
    )?;
    parse_shlibs(&out).with_context(|| format!("dpkg-shlibdeps printed no shlibs:Depends: {out}"))
}

fn parse_shlibs(out: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
}

/// Copies every `*.toml` of `from` into `to`; returns how many. A missing `from` is a warning.
fn copy_rules(from: &Path, to: &Path) -> anyhow::Result<usize> {
    if !from.is_dir() {
        eprintln!(
            "xtask: warning: {} does not exist: the package ships no rules",
            from.display()
        );
        return Ok(0);
    }
    let mut rules: Vec<PathBuf> = fs::read_dir(from)
        .with_context(|| format!("reading {}", from.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", from.display()))?;
    rules.retain(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file());
    rules.sort();
    for rule in &rules {
        let name = rule.file_name().context("a rule path has no file name")?;
        install(rule, &to.join(name), 0o644)?;
    }
    Ok(rules.len())
}

/// Copies `from` to `to` (creating its directories, 0755) with `mode`.
fn install(from: &Path, to: &Path, mode: u32) -> anyhow::Result<()> {
    if let Some(dir) = to.parent() {
        create_dirs(dir)?;
    }
    fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    chmod(to, mode)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        create_dirs(dir)?;
    }
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    chmod(path, 0o644)
}

/// `create_dir_all`, with 0755 whatever the umask: dpkg-deb packs modes as they are.
fn create_dirs(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent)?;
    }
    fs::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    chmod(dir, 0o755)
}

fn chmod(path: &Path, mode: u32) -> anyhow::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

/// `Installed-Size`: the files' sizes in KiB, each rounded up, `DEBIAN/` excluded.
fn installed_kib(root: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                if entry.file_name() != "DEBIAN" {
                    stack.push(entry.path());
                }
            } else {
                total += meta.len().div_ceil(1024);
            }
        }
    }
    if total == 0 {
        bail!("nothing staged in {}", root.display());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_depends_from_dpkg_shlibdeps() {
        let out = "shlibs:Depends=libc6 (>= 2.34), libgcc-s1 (>= 4.2), libsystemd0\n";
        assert_eq!(
            parse_shlibs(out).as_deref(),
            Some("libc6 (>= 2.34), libgcc-s1 (>= 4.2), libsystemd0")
        );
        assert_eq!(parse_shlibs("shlibs:Depends=\n"), None);
        assert_eq!(parse_shlibs(""), None);
    }

    #[test]
    fn control_has_the_required_fields() {
        let control = control("amd64", "libc6 (>= 2.34)", 6100);
        for field in [
            "Package: sensor\n",
            "Version: ",
            "Architecture: amd64\n",
            "Maintainer: ",
            "Installed-Size: 6100\n",
            "Depends: libc6 (>= 2.34)\n",
            "Description: ",
        ] {
            assert!(control.contains(field), "{field} missing from\n{control}");
        }
        // Continuation lines of the description start with one space; none is empty.
        assert!(
            control
                .lines()
                .skip_while(|l| !l.starts_with("Description"))
                .skip(1)
                .all(|l| l.starts_with(' ') && l.trim().len() > 1)
        );
        assert!(control.ends_with('\n'));
    }
}
