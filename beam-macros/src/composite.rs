//! Phase 0: reusable transforms. A stage written `name!(args)` is a transform the
//! user defined with `beam::transform!`, which is a `macro_rules!` macro. Before
//! anything else, `pipeline!` hands the whole pipeline to that macro, split around
//! the call; the macro puts its chain of stages in place of the call and calls
//! `pipeline!` again. So a reusable transform is checked and fused exactly like the
//! stages written inline.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::quote_spanned;

/// If the pipeline calls a reusable transform at the top level (`-> count_words!()`),
/// the code that expands the first such call.
pub fn expand_first(input: &TokenStream) -> Option<TokenStream> {
    let tokens: Vec<TokenTree> = input.clone().into_iter().collect();
    let at = tokens.windows(3).position(|w| {
        matches!(&w[0], TokenTree::Ident(_))
            && matches!(&w[1], TokenTree::Punct(p) if p.as_char() == '!')
            && matches!(&w[2], TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis)
    })?;
    let (TokenTree::Ident(name), TokenTree::Group(args)) = (&tokens[at], &tokens[at + 2]) else { return None };
    let before: TokenStream = tokens[..at].iter().cloned().collect();
    let after: TokenStream = tokens[at + 3..].iter().cloned().collect();
    let args = args.stream();
    // Located at the call, so that an error inside the transform's stages is shown
    // with "in this macro invocation" pointing at `count_words!()`.
    Some(quote_spanned! {name.span()=> #name! { @beam_inline { #before } ( #args ) { #after } } })
}
