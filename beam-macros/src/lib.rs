//! The `pipeline!` macro of beam. Users depend on `beam`, which re-exports it with
//! its documentation.
//!
//! The macro is a small compiler with one-way phases, one module each:
//! `parse` (tokens to syntax tree) → `graph` (names resolved) → `check` (graph
//! errors) → `plan` (fusion into segments) → `expand` (code). `ops` is the registry
//! of transforms every phase reads; `diag` collects errors so all are reported.

mod check;
mod diag;
mod expand;
mod graph;
mod ops;
mod parse;
mod plan;

use proc_macro::TokenStream;

/// See the `beam` crate's documentation of `pipeline!`.
#[proc_macro]
pub fn pipeline(input: TokenStream) -> TokenStream {
    compile(input.into()).into()
}

fn compile(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let ast: parse::PipelineAst = match syn::parse2(input) {
        Ok(ast) => ast,
        Err(error) => return error.to_compile_error(),
    };
    let mut diag = diag::Diagnostics::default();
    let mut graph = graph::Graph::build(ast, &mut diag);
    check::check(&mut graph, &mut diag);
    if diag.has_errors() {
        let placeholder = expand::placeholder(&graph);
        let errors = diag.into_compile_errors();
        return quote::quote! {{ #errors #placeholder }};
    }
    let plan = plan::plan(&graph);
    expand::expand(&graph, &plan)
}
