//! `cargo run -p lesson-8`: a dynamic pool follows a bursty load (it grows, shrinks, and is
//! resized while it runs), then a priority pool runs one workload twice, without and with
//! aging. Growth is driven by submissions and the jobs wait at gates, so the worker counts are
//! the same on every run; the priority pool has one worker, so its order of picks is exact.

mod demo;

use course_support::cli;
use demo::args::Args;
use demo::scenes;
use demo::stage::Stage;

fn main() {
    cli::quiet_on_closed_stdout();
    let args: Args = cli::parse();
    args.check_pools();
    println!("Lesson 8: dynamic and priority pools\n");

    scenes::introduction(&args);
    let mut stage = Stage::new(&args);
    scenes::burst(&mut stage, &args);
    scenes::resize(&mut stage, &args);
    scenes::closing_time(stage, &args);

    scenes::priority_introduction(&args);
    scenes::strict_priority(&args);
    scenes::aging(&args);
}
