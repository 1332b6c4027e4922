//! Prints the ratio tables of the last `verify` bench run: for every criterion group,
//! each function's median divided by the `hmac_floor` median of the same group, then
//! the performance targets with the ratios they are judged on.
//!
//! ```sh
//! cargo bench --manifest-path benches/Cargo.toml --bench verify -- --warm-up-time 1 --measurement-time 3
//! cargo run --manifest-path benches/Cargo.toml --bin bench_report            # criterion's directory
//! cargo run --manifest-path benches/Cargo.toml --bin bench_report -- DIR     # or another one
//! ```
//!
//! Criterion's directory is `$CRITERION_HOME` if set, else `criterion` under
//! `$CARGO_TARGET_DIR` if set, else `benches/target/criterion`: where `cargo bench` of
//! this crate writes it.
//!
//! It reads `<DIR>/**/new/benchmark.json` (for the group and function names) and the
//! `estimates.json` beside it (for the median, in nanoseconds). Ratios, not absolute
//! times: on a shared machine the absolute figures are noise, the ratios of one run
//! much less so.
//!
//! On a busy machine, repeat the run under saved baselines and pass their names:
//! each function then counts with the lowest of its medians across the runs (other
//! load only ever adds time), so one unlucky stretch does not skew a ratio.
//!
//! ```sh
//! for r in r1 r2 r3; do
//!   cargo bench --manifest-path benches/Cargo.toml --bench verify -- \
//!     --warm-up-time 1 --measurement-time 3 --save-baseline $r
//! done
//! cargo run --manifest-path benches/Cargo.toml --bin bench_report -- --baselines r1,r2,r3
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;

/// Group → function → median (ns).
type Medians = BTreeMap<String, BTreeMap<String, f64>>;

/// The order rows appear in within a group; other functions follow alphabetically.
const ORDER: [&str; 13] = [
    "hmac_floor",
    "compress_floor",
    "nexio",
    "nexio_signature_only",
    "nexio_typed",
    "naive",
    "stripe",
    "standardwebhooks",
    "svix",
    "forged16_1secret",
    "forged16_2secrets",
    "typed",
    "value",
];

const SIZES: [&str; 5] = ["256B", "1KiB", "16KiB", "256KiB", "1MiB"];

fn main() -> ExitCode {
    let mut dir = criterion_dir();
    let mut baselines = vec!["new".to_owned()];
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--baselines" {
            let Some(list) = args.next() else {
                eprintln!("bench_report: --baselines needs a comma-separated list");
                return ExitCode::FAILURE;
            };
            baselines = list
                .to_string_lossy()
                .split(',')
                .map(str::to_owned)
                .collect();
        } else {
            dir = PathBuf::from(arg);
        }
    }
    let mut medians = Medians::new();
    if let Err(e) = collect(&dir, &baselines, &mut medians) {
        eprintln!("bench_report: reading {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    if medians.is_empty() {
        eprintln!(
            "bench_report: no criterion results under {} (run `cargo bench --manifest-path benches/Cargo.toml --bench verify` first)",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    println!(
        "Median of each function / median of `hmac_floor` in the same group ({}).\n",
        if baselines.len() > 1 {
            format!("lowest median over baselines {}", baselines.join(", "))
        } else {
            format!("baseline `{}`", baselines.join(""))
        }
    );
    print_groups(&medians);
    print_matrices(&medians);
    print_targets(&medians);
    ExitCode::SUCCESS
}

/// Where criterion writes its results when this crate's benches run: it honours
/// `CRITERION_HOME`, then `CARGO_TARGET_DIR`, then the crate's own `target/`.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("criterion")
}

/// Walks `dir` for `<baseline>/benchmark.json` + `<baseline>/estimates.json` pairs,
/// keeping each function's lowest median across the baselines.
fn collect(dir: &Path, baselines: &[String], out: &mut Medians) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        let is_baseline = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| baselines.iter().any(|b| b == n));
        if is_baseline {
            if let Some((group, function, median)) = read_result(&path) {
                let slot = out
                    .entry(group)
                    .or_default()
                    .entry(function)
                    .or_insert(f64::INFINITY);
                *slot = slot.min(median);
            }
        } else {
            collect(&path, baselines, out)?;
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn read_result(new: &Path) -> Option<(String, String, f64)> {
    let id = read_json(&new.join("benchmark.json"))?;
    let estimates = read_json(&new.join("estimates.json"))?;
    let group = id.get("group_id")?.as_str()?.to_owned();
    let function = id.get("function_id")?.as_str()?.to_owned();
    let median = estimates.get("median")?.get("point_estimate")?.as_f64()?;
    Some((group, function, median))
}

/// Groups in a stable, readable order: kind (verify, sign, reject, event), then size.
fn group_key(group: &str) -> (usize, usize, String) {
    let (kind, size) = group.split_once('/').unwrap_or((group, ""));
    let kind_rank = ["verify", "sign", "reject", "event"]
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(usize::MAX);
    let size_rank = SIZES.iter().position(|s| *s == size).unwrap_or(usize::MAX);
    (kind_rank, size_rank, group.to_owned())
}

fn function_key(function: &str) -> (usize, String) {
    let rank = ORDER
        .iter()
        .position(|f| *f == function)
        .unwrap_or(usize::MAX);
    (rank, function.to_owned())
}

fn print_groups(medians: &Medians) {
    let mut groups: Vec<&String> = medians.keys().collect();
    groups.sort_by_key(|g| group_key(g));
    for group in groups {
        let Some(functions) = medians.get(group) else {
            continue;
        };
        let floor = functions.get("hmac_floor").copied();
        println!("### {group}\n");
        println!("| function | median / hmac_floor |");
        println!("| --- | ---: |");
        let mut names: Vec<&String> = functions.keys().collect();
        names.sort_by_key(|f| function_key(f));
        for name in names {
            let ratio = match (functions.get(name), floor) {
                (Some(m), Some(f)) if f > 0.0 => format!("{:.2}", m / f),
                _ => "–".to_owned(),
            };
            println!("| `{name}` | {ratio} |");
        }
        println!();
    }
}

/// The same ratios, one table per kind of group with a column per size (the form
/// the README shows).
fn print_matrices(medians: &Medians) {
    for kind in ["verify", "sign", "reject", "event"] {
        let sizes: Vec<&str> = SIZES
            .iter()
            .copied()
            .filter(|size| medians.contains_key(&format!("{kind}/{size}")))
            .collect();
        if sizes.is_empty() {
            continue;
        }
        let mut functions: Vec<&String> = sizes
            .iter()
            .filter_map(|size| medians.get(&format!("{kind}/{size}")))
            .flat_map(|fs| fs.keys())
            .collect();
        functions.sort_by_key(|f| function_key(f));
        functions.dedup();
        println!("### {kind}/<size>: median / hmac_floor\n");
        println!("| function | {} |", sizes.join(" | "));
        println!("| --- |{}", " ---: |".repeat(sizes.len()));
        for function in functions {
            let cells: Vec<String> = sizes
                .iter()
                .map(|size| {
                    let g = format!("{kind}/{size}");
                    ratio(medians, (&g, function), (&g, "hmac_floor"))
                        .map_or_else(|| "–".to_owned(), |r| format!("{r:.2}"))
                })
                .collect();
            println!("| `{function}` | {} |", cells.join(" | "));
        }
        println!();
    }
}

fn median(medians: &Medians, group: &str, function: &str) -> Option<f64> {
    medians.get(group)?.get(function).copied()
}

/// `a / b` of two medians, when both were measured.
fn ratio(medians: &Medians, a: (&str, &str), b: (&str, &str)) -> Option<f64> {
    let top = median(medians, a.0, a.1)?;
    let bottom = median(medians, b.0, b.1)?;
    (bottom > 0.0).then(|| top / bottom)
}

/// Whether `value` meets a target that is an upper (`<=`) or lower (`>=`) bound.
enum Bound {
    AtMost(f64),
    AtLeast(f64),
}

fn print_targets(medians: &Medians) {
    let mut rows: Vec<(String, Option<f64>, Bound)> = Vec::new();
    for (size, limit) in [
        ("256B", 1.20),
        ("1KiB", 1.10),
        ("16KiB", 1.03),
        ("256KiB", 1.03),
    ] {
        let g = format!("verify/{size}");
        rows.push((
            format!("`nexio` / `hmac_floor`, {size}"),
            ratio(medians, (&g, "nexio"), (&g, "hmac_floor")),
            Bound::AtMost(limit),
        ));
    }
    // Against the physical floor: the compression function over exactly the blocks
    // the HMAC needs.
    for (size, limit) in [("256B", 1.25), ("1KiB", 1.08)] {
        let g = format!("verify/{size}");
        rows.push((
            format!("`nexio` / `compress_floor`, {size}"),
            ratio(medians, (&g, "nexio"), (&g, "compress_floor")),
            Bound::AtMost(limit),
        ));
    }
    rows.push((
        "`svix` / `nexio`, 1KiB".to_owned(),
        ratio(medians, ("verify/1KiB", "svix"), ("verify/1KiB", "nexio")),
        Bound::AtLeast(5.0),
    ));
    for size in ["256B", "1KiB"] {
        let g = format!("verify/{size}");
        rows.push((
            format!("`stripe` / `nexio_typed` (both verify + parse), {size}"),
            ratio(medians, (&g, "stripe"), (&g, "nexio_typed")),
            Bound::AtLeast(1.25),
        ));
        rows.push((
            format!("`stripe` / `nexio` (stripe also parses; for information), {size}"),
            ratio(medians, (&g, "stripe"), (&g, "nexio")),
            Bound::AtLeast(1.25),
        ));
    }
    rows.push((
        "`reject/1MiB` `forged16_1secret` / `hmac_floor`".to_owned(),
        ratio(
            medians,
            ("reject/1MiB", "forged16_1secret"),
            ("reject/1MiB", "hmac_floor"),
        ),
        Bound::AtMost(1.05),
    ));
    println!("### targets\n");
    println!("| measure | target | ratio | met |");
    println!("| --- | --- | ---: | --- |");
    for (name, value, bound) in rows {
        let (target, met) = match bound {
            Bound::AtMost(t) => (format!("≤ {t:.2}"), value.map(|v| v <= t)),
            Bound::AtLeast(t) => (format!("≥ {t:.2}"), value.map(|v| v >= t)),
        };
        let value = value.map_or_else(|| "not measured".to_owned(), |v| format!("{v:.2}"));
        let met = match met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        println!("| {name} | {target} | {value} | {met} |");
    }
}
