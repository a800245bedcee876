//! The `course` command from a student's side, on a small course of its own: two exercises in a
//! temporary workspace, so every test can edit, solve and break them freely.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A marked-up solution: `name(a, b)` is `a OP b`.
fn solution(number: u32, name: &str, op: &str) -> String {
    format!(
        "\
// course: exercise
// //! # Exercise {number}: {name}
// course: solution
//! # Exercise {number}, solved: {name}
// course: end

/// The answer.
pub fn {name}(a: u64, b: u64) -> u64 {{
    // course: exercise
    // let _ = (a, b);
    // @todo(\"return a {op} b\")
    // course: solution
    a {op} b
    // course: end
}}
"
    )
}

fn manifest(package: &str, lib: &str, test: &str) -> String {
    format!(
        "[package]\nname = \"{package}\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"{package} does {lib}.\"\n\n[lib]\nname = \"{lib}\"\n\n[[test]]\nname = \"{lib}\"\npath = \"{test}\"\n"
    )
}

/// A course with exercises `01-add` and `02-mul`, as shipped.
fn course() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"exercises/*\", \"solutions/*\"]\nresolver = \"2\"\n",
    )
    .unwrap();
    for (number, dir_name, name, op, hint) in [
        (1, "01-add", "add", "+", "Add them."),
        (2, "02-mul", "mul", "*", "Multiply them."),
    ] {
        let ex = root.join("exercises").join(dir_name);
        let sol = root.join("solutions").join(dir_name);
        fs::create_dir_all(ex.join("src")).unwrap();
        fs::create_dir_all(ex.join("tests")).unwrap();
        fs::create_dir_all(sol.join("src")).unwrap();
        let package = format!("ex{dir_name}");
        let test =
            format!("#[test]\nfn works() {{ assert_eq!({name}::{name}(6, 3), 6 {op} 3); }}\n");
        fs::write(ex.join(format!("tests/{name}.rs")), test).unwrap();
        fs::write(ex.join("HINTS.md"), hint).unwrap();
        fs::write(
            ex.join("Cargo.toml"),
            manifest(&package, name, &format!("tests/{name}.rs")),
        )
        .unwrap();
        fs::write(
            sol.join("Cargo.toml"),
            manifest(
                &format!("{package}-solution"),
                name,
                &format!("../../exercises/{dir_name}/tests/{name}.rs"),
            ),
        )
        .unwrap();
        fs::write(sol.join("src/lib.rs"), solution(number, name, op)).unwrap();
    }
    let generated = run(root, &["gen"], "");
    assert!(
        generated.status.success(),
        "gen failed: {}",
        text(&generated)
    );
    dir
}

/// Runs `course ARGS` in `root` with `input` on stdin, for at most two minutes (it may build).
fn run_with(root: &Path, args: &[&str], input: &str, cargo: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_course"))
        .args(args)
        .current_dir(root)
        .env("CARGO", cargo)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!(
                "`course {}` ran for two minutes: a watch that ignores `q`, or a build that hangs",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn run(root: &Path, args: &[&str], input: &str) -> Output {
    run_with(root, args, input, Path::new(env!("CARGO")))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn lib(root: &Path, dir: &str) -> PathBuf {
    root.join("exercises").join(dir).join("src/lib.rs")
}

/// Solves an exercise the way a student would: by editing its `lib.rs`.
fn solve(root: &Path, dir: &str, expr: &str) {
    let path = lib(root, dir);
    let code = fs::read_to_string(&path).unwrap();
    let start = code
        .find("    let _ = (a, b);")
        .expect("the exercise as shipped");
    let end = code[start..].find(")\n}").unwrap() + start + 2;
    fs::write(
        &path,
        format!("{}    {expr}\n{}", &code[..start], &code[end..]),
    )
    .unwrap();
}

#[test]
fn the_list_tests_only_what_changed_and_remembers_the_rest() {
    let course = course();
    let root = course.path();
    let first = run(root, &[], "");
    let out = text(&first);
    assert!(first.status.success(), "{out}");
    assert!(out.contains("Testing 2 of 2 exercises"), "{out}");
    assert!(
        out.contains("ex01-add") && out.contains("not started"),
        "{out}"
    );
    assert!(
        out.contains("0 of 2 passing") && out.contains("Next: exercises/01-add"),
        "{out}"
    );

    // Nothing changed: the answer comes from saved progress. With no cargo to run, any attempt
    // to test would fail.
    let again = run_with(root, &["list"], "", Path::new("/nonexistent/cargo"));
    let out = text(&again);
    assert!(
        again.status.success(),
        "the second list tested again: {out}"
    );
    assert!(!out.contains("Testing"), "{out}");
    assert!(out.contains("0 of 2 passing"), "{out}");

    solve(root, "01-add", "a + b");
    let after = run(root, &[], "");
    let out = text(&after);
    assert!(
        out.contains("Testing 1 of 2 exercises"),
        "only 01-add changed: {out}"
    );
    assert!(
        out.contains("1 of 2 passing") && out.contains("Next: exercises/02-mul"),
        "{out}"
    );

    solve(root, "02-mul", "a + b");
    let wrong = text(&run(root, &[], ""));
    assert!(
        wrong.contains("failing"),
        "a wrong answer is failing, not not-started: {wrong}"
    );
}

#[test]
fn hint_with_no_name_gives_the_hints_of_the_exercise_you_are_on() {
    let course = course();
    let root = course.path();
    let out = text(&run(root, &["hint"], ""));
    assert!(
        out.contains("Add them.") && !out.contains("Multiply"),
        "{out}"
    );
    solve(root, "01-add", "a + b");
    let out = text(&run(root, &["hint"], ""));
    assert!(out.contains("Multiply them."), "{out}");
    let by_number = text(&run(root, &["hint", "1"], ""));
    assert!(by_number.contains("Add them."), "{by_number}");
    let unknown = run(root, &["hint", "nosuch"], "");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown).contains("ex01-add, ex02-mul"),
        "{}",
        text(&unknown)
    );
}

#[test]
fn the_solution_opens_only_once_the_exercise_passes() {
    let course = course();
    let root = course.path();
    let early = run(root, &["solution", "add"], "");
    assert_eq!(early.status.code(), Some(1), "{}", text(&early));
    assert!(
        text(&early).contains("does not pass yet"),
        "{}",
        text(&early)
    );
    assert!(
        !text(&early).contains("── solutions/"),
        "the answer leaked: {}",
        text(&early)
    );

    solve(root, "01-add", "b + a");
    let shown = run(root, &["solution", "add"], "");
    let out = text(&shown);
    assert!(shown.status.success(), "{out}");
    assert!(out.contains("── solutions/01-add/src/lib.rs ──"), "{out}");
    assert!(out.contains("    a + b\n"), "{out}");
    assert!(
        !out.contains("course:") && !out.contains("todo"),
        "markup shown: {out}"
    );
}

#[test]
fn reset_puts_the_exercise_back_as_shipped() {
    let course = course();
    let root = course.path();
    let shipped = fs::read_to_string(lib(root, "01-add")).unwrap();
    solve(root, "01-add", "a + b");
    assert_ne!(fs::read_to_string(lib(root, "01-add")).unwrap(), shipped);
    let reset = run(root, &["reset", "ex01-add"], "");
    assert!(reset.status.success(), "{}", text(&reset));
    assert!(text(&reset).contains("exercises/01-add/src/lib.rs is back as shipped"));
    assert_eq!(fs::read_to_string(lib(root, "01-add")).unwrap(), shipped);
}

#[test]
fn gen_check_and_verify_catch_an_exercise_that_drifted_from_its_solution() {
    let course = course();
    let root = course.path();
    let clean = run(root, &["gen", "--check"], "");
    assert!(clean.status.success(), "{}", text(&clean));

    // Someone edits the exercise by hand instead of the solution's markup.
    let path = lib(root, "02-mul");
    let edited = fs::read_to_string(&path)
        .unwrap()
        .replace("return a * b", "multiply");
    fs::write(&path, edited).unwrap();
    let check = run(root, &["gen", "--check"], "");
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("02-mul/src/lib.rs differs from what its solution generates"));
    let verify = run(root, &["verify"], "");
    let out = text(&verify);
    assert_eq!(verify.status.code(), Some(1), "{out}");
    assert!(
        out.contains("ex02-mul: ") && out.contains("differs"),
        "{out}"
    );
    assert!(!out.contains("ex01-add:"), "01-add was fine: {out}");

    assert!(run(root, &["gen"], "").status.success());
    assert!(run(root, &["gen", "--check"], "").status.success());
}

#[test]
fn watch_answers_its_keys_and_quits_on_q() {
    let course = course();
    let root = course.path();
    let watch = run(root, &["watch"], "h\nl\nq\n");
    let out = text(&watch);
    assert!(watch.status.success(), "{out}");
    assert!(out.contains("── ex01-add (not started) ──"), "{out}");
    assert!(out.contains("Add them."), "h gave no hint: {out}");
    assert!(out.contains("▶  · ex01-add"), "l gave no list: {out}");
}

#[test]
fn bad_commands_get_one_line_and_exit_2() {
    let course = course();
    for args in [&["--frobnicate"][..], &["reset"], &["frob"]] {
        let out = run(course.path(), args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert_eq!(
            text(&out).trim().lines().count(),
            1,
            "{args:?}: {}",
            text(&out)
        );
    }
}
