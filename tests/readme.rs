//! README's quick start and CI must not drift apart: .ci/run runs README's test command.

mod common;

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README.md");
    let ci = std::fs::read_to_string(common::root().join(".ci/run")).expect(".ci/run");
    let command = ci.lines().last().expect("command line").trim();
    assert!(
        readme.contains(command),
        "README.md does not give .ci/run's command: {command}"
    );
}
