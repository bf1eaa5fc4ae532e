//! Compile-fail tests: each file under `tests/ui/` is a pipeline with a mistake, and
//! its `.stderr` is the error a user sees.

#[test]
fn compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*/*.rs");
}
