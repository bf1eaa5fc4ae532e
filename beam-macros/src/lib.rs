//! The `pipeline!` macro of beam. Users depend on `beam`, which re-exports it with
//! its documentation.
//!
//! The macro is a small compiler with one-way phases, one module each:
//! `composite` (reusable transforms inlined), `parse` (tokens to syntax tree) → `graph` (names resolved) → `check` (graph
//! errors) → `time` (which collections carry event time) → `plan` (fusion into segments) → `expand` (code). `ops` is the registry
//! of transforms every phase reads; `diag` collects errors so all are reported.

mod check;
mod composite;
mod diag;
mod expand;
mod graph;
mod ops;
mod parse;
mod plan;
mod time;

use proc_macro::TokenStream;

/// See the `beam` crate's documentation of `pipeline!`.
#[proc_macro]
pub fn pipeline(input: TokenStream) -> TokenStream {
    compile(input.into()).into()
}

fn compile(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    if let Some(expansion) = composite::expand_first(&input) {
        return expansion;
    }
    let anchor = input.clone().into_iter().next().map(|token| token.span());
    let ast: parse::PipelineAst = match syn::parse2(input) {
        Ok(ast) => ast,
        Err(error) => return error.to_compile_error(),
    };
    let mut diag = diag::Diagnostics::default();
    let mut graph = graph::Graph::build(ast, &mut diag);
    check::check(&mut graph, &mut diag);
    time::annotate(&mut graph, &mut diag);
    if diag.has_errors() {
        let placeholder = expand::placeholder(&graph);
        let errors = diag.into_compile_errors();
        return quote::quote! {{ #errors #placeholder }};
    }
    let plan = match plan::plan(&graph) {
        Ok(plan) => plan,
        // A bug of ours, not the user's: said so, instead of a panic.
        Err(bug) => {
            let message =
                format!("internal error in `pipeline!`: {bug}; please report this pipeline to beam's authors");
            return syn::Error::new(proc_macro2::Span::call_site(), message).to_compile_error();
        }
    };
    expand::lending_mistakes(&graph, &plan, &mut diag);
    if diag.has_errors() {
        let placeholder = expand::placeholder(&graph);
        let errors = diag.into_compile_errors();
        return quote::quote! {{ #errors #placeholder }};
    }
    let code = expand::expand(&graph, &plan);
    match anchor {
        Some(anchor) => same_hygiene(code, anchor),
        None => code,
    }
}

/// Gives every internal identifier (`__ctx`, `__w3`, ...) the name resolution of
/// `anchor`, a token of the user's pipeline, keeping its location. Internal names
/// are made at the macro's call site and at the user's stages; when `pipeline!` is
/// called from another macro (a reusable transform, a user's `macro_rules!`), those
/// differ in hygiene, and the names must still refer to each other.
fn same_hygiene(code: proc_macro2::TokenStream, anchor: proc_macro2::Span) -> proc_macro2::TokenStream {
    use proc_macro2::{Group, Ident, TokenTree};
    code.into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) if ident.to_string().starts_with("__") => {
                TokenTree::Ident(Ident::new(&ident.to_string(), anchor.located_at(ident.span())))
            }
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), same_hygiene(group.stream(), anchor));
                new.set_span(group.span());
                TokenTree::Group(new)
            }
            other => other,
        })
        .collect()
}
