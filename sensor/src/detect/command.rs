//! `sensor rules list | validate | test`.
use std::{
    borrow::Cow,
    io::{self, Write as _},
    path::Path,
    process::ExitCode,
};

use super::{
    Engine, RuleSources, Variables, builtin,
    ruleset::{self, Loaded},
};
use crate::{
    cli::{RuleArgs, RulesCommand},
    replay::{self, Input, Options, exit},
};

/// The rule sources flags name. Without `--internal-network`, the default networks.
pub fn sources(args: &RuleArgs) -> RuleSources {
    let mut sources = flag_sources(args);
    if sources.variables.internal_networks.is_empty() {
        sources.variables = Variables::default();
    }
    sources
}

/// The rule sources flags name, exactly: no internal networks unless `--internal-network`
/// names some (`sensor run` takes the configuration's then).
pub fn flag_sources(args: &RuleArgs) -> RuleSources {
    let variables = Variables {
        internal_networks: args.internal_networks.clone(),
    };
    RuleSources {
        builtin: !args.no_builtin_rules,
        dirs: args.rule_dirs.clone(),
        allowlist: args.allowlist.clone(),
        variables,
    }
}

/// Loads rules, printing every problem on stderr.
pub fn load_or_report(sources: &RuleSources) -> Result<Loaded, ExitCode> {
    ruleset::load(sources).map_err(|e| {
        eprintln!("sensor: {e}");
        ExitCode::from(exit::DATA_ERR)
    })
}

pub fn run(command: RulesCommand) -> ExitCode {
    match command {
        RulesCommand::List { rules } => list(&sources(&rules)),
        RulesCommand::Validate { dir } => {
            let sources = only(dir.as_deref());
            match load_or_report(&sources) {
                Ok(loaded) => {
                    println!("{} rules loaded, no problems", loaded.rules.len());
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            }
        }
        RulesCommand::Test { dir } => test(dir.as_deref()),
    }
}

/// The shipped rules, or only those of `dir`.
fn only(dir: Option<&Path>) -> RuleSources {
    RuleSources {
        builtin: dir.is_none(),
        dirs: dir.map(Path::to_path_buf).into_iter().collect(),
        ..RuleSources::default()
    }
}

fn list(sources: &RuleSources) -> ExitCode {
    let loaded = match load_or_report(sources) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let mut out = io::stdout().lock();
    for rule in &loaded.rules {
        let techniques: Vec<&str> = rule
            .threat
            .iter()
            .flat_map(|t| &t.technique)
            .flat_map(|t| {
                std::iter::once(t.id.as_str()).chain(t.subtechnique.iter().map(|s| s.id.as_str()))
            })
            .collect();
        let kind = match rule.logic {
            super::rule::Logic::Query(_) => "query",
            super::rule::Logic::Sequence(_) => "sequence",
        };
        let _ = writeln!(
            out,
            "{}  {:<8}  {:<8}  {:<28}  {}  [{}]",
            rule.id,
            rule.severity.as_str(),
            kind,
            techniques.join(","),
            rule.name,
            rule.origin
        );
    }
    ExitCode::SUCCESS
}

/// A file of a rules directory: its relative path and bytes.
struct File {
    rel: String,
    bytes: Cow<'static, [u8]>,
}

fn test(dir: Option<&Path>) -> ExitCode {
    let sources = only(dir);
    let loaded = match load_or_report(&sources) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let files: Vec<File> = match dir {
        None => builtin::files()
            .iter()
            .map(|(rel, bytes)| File {
                rel: (*rel).to_owned(),
                bytes: Cow::Borrowed(*bytes),
            })
            .collect(),
        Some(dir) => match ruleset::walk(dir) {
            Ok(found) => found
                .into_iter()
                .filter_map(|f| {
                    let bytes = std::fs::read(&f.path).ok()?;
                    Some(File {
                        rel: f.rel,
                        bytes: Cow::Owned(bytes),
                    })
                })
                .collect(),
            Err(e) => {
                eprintln!("sensor: reading {}: {e}", dir.display());
                return ExitCode::from(exit::NO_INPUT);
            }
        },
    };
    let mut failed = 0;
    let origin_rel = |origin: &str| -> String {
        match dir {
            None => origin.trim_start_matches("builtin:").to_owned(),
            Some(dir) => Path::new(origin)
                .strip_prefix(dir)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| origin.to_owned()),
        }
    };
    for rule in &loaded.rules {
        let prefix = builtin::positive_prefix(&origin_rel(&rule.origin));
        let fixtures: Vec<&File> = files
            .iter()
            .filter(|f| f.rel.starts_with(&prefix))
            .collect();
        if fixtures.is_empty() {
            println!(
                "FAIL  {}  {}: no positive fixture {prefix}*",
                rule.id, rule.name
            );
            failed += 1;
            continue;
        }
        let mut engine = Engine::new(vec![rule.clone()], Vec::new());
        let (alerts, errors) = run_on(&mut engine, &fixtures);
        if alerts == 0 || errors > 0 {
            println!(
                "FAIL  {}  {}: {alerts} alerts on {prefix}* ({errors} read errors)",
                rule.id, rule.name
            );
            failed += 1;
        } else {
            println!(
                "ok    {}  {}: {alerts} alerts on {prefix}*",
                rule.id, rule.name
            );
        }
    }
    let baseline: Vec<&File> = files
        .iter()
        .filter(|f| builtin::is_baseline_path(&f.rel))
        .collect();
    let mut engine = Engine::new(loaded.rules.clone(), loaded.allowlist.clone());
    let (alerts, errors) = run_on(&mut engine, &baseline);
    let names: Vec<String> = baseline.iter().map(|f| f.rel.clone()).collect();
    if baseline.is_empty() {
        println!("FAIL  baseline: no files under baseline/");
        failed += 1;
    } else if alerts > 0 || errors > 0 {
        println!(
            "FAIL  baseline ({}): {alerts} alerts, {errors} read errors",
            names.join(", ")
        );
        for (rule, n) in engine.alert_counts().filter(|(_, n)| *n > 0) {
            println!("        {} alerts of {} {}", n, rule.id, rule.name);
        }
        failed += 1;
    } else {
        println!("ok    baseline ({}): no alerts", names.join(", "));
    }
    if failed > 0 {
        println!("{failed} failed");
        ExitCode::FAILURE
    } else {
        println!("all {} rules passed", loaded.rules.len());
        ExitCode::SUCCESS
    }
}

/// Replays `files` through `engine`; returns the alerts and the read errors.
fn run_on(engine: &mut Engine, files: &[&File]) -> (u64, u64) {
    let inputs: Vec<Input> = files
        .iter()
        .map(|f| Input::Memory {
            name: f.rel.clone(),
            bytes: f.bytes.clone(),
        })
        .collect();
    let mut sink = io::sink();
    let mut report = |e: &replay::ReplayError| println!("        {e}");
    match replay::replay(&inputs, &Options::default(), engine, &mut sink, &mut report) {
        Ok(summary) => (summary.alerts(), summary.errors()),
        Err(e) => {
            println!("        {e}");
            (0, 1)
        }
    }
}
