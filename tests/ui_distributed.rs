//! Compile errors that only the distributed runner (feature `timely`) has: data
//! that crosses processes must serialize.

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui_distributed/*.rs");
}
