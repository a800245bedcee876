//! Criterion's results on disk: where they are, and the median of one benchmark.

use std::path::{Path, PathBuf};

/// Where criterion keeps its results: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else the workspace's `target/criterion`.
pub fn default_criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Path::new(&target).join("criterion");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion")
}

/// The median time of one iteration, in nanoseconds, from
/// `<root>/<group>/<bench>/new/estimates.json`.
pub fn median_ns(root: &Path, group: &str, bench: &str) -> Result<f64, String> {
    let path = root.join(group).join(bench).join("new/estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|err| {
        format!(
            "cannot read {} ({err}); run `cargo bench -p lesson-9` first",
            path.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| format!("{} is not criterion's JSON: {err}", path.display()))?;
    json["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{} has no median.point_estimate", path.display()))
}
