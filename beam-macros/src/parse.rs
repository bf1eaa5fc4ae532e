//! Phase 1: tokens to syntax tree. Only the shape of the language is checked here.
//!
//! ```text
//! pipeline   := statement*
//! statement  := (name '=' | '(' name (',' name)* ')' '=')? head ('->' stage)* ';'
//! head       := name | '(' name (',' name)+ ')' | stage
//! stage      := (label ':')? transform ('::' '<' types '>')? '(' args ')'
//! ```

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Token, parenthesized};

pub struct PipelineAst {
    pub statements: Vec<Statement>,
}

pub struct Statement {
    /// `name = ...`: the collection (or `collect()` output) the statement defines.
    pub name: Option<Ident>,
    /// `(records, bad) = ...`: names for the outputs after the first (a source's
    /// bad records).
    pub more_names: Vec<Ident>,
    pub head: Head,
    pub stages: Vec<StageCall>,
}

pub enum Head {
    /// `words -> ...`
    Collection(Ident),
    /// `(a, b) -> ...`
    Tuple { names: Vec<Ident>, span: Span },
    /// `from_iter(...) -> ...`
    Stage(StageCall),
}

pub struct StageCall {
    pub label: Option<Ident>,
    pub op: Ident,
    /// `read_csv::<Sale>(..)`: type arguments for the transform.
    pub generics: Option<syn::AngleBracketedGenericArguments>,
    pub args: Vec<Expr>,
    /// The span of `op(args)`, where errors about the call land.
    pub span: Span,
}

impl Parse for PipelineAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut statements = Vec::new();
        while !input.is_empty() {
            statements.push(input.parse()?);
        }
        Ok(PipelineAst { statements })
    }
}

impl Parse for Statement {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut more_names = Vec::new();
        let name = if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let name: Ident = input.parse()?;
            let eq = input.parse::<Token![=]>()?;
            expect_more(input, eq.span, "expected a source such as `from_iter(..)`, or a collection, after `=`")?;
            Some(name)
        } else if input.peek(syn::token::Paren) && is_tuple_of_names_then_eq(input) {
            let content;
            parenthesized!(content in input);
            let mut names = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?.into_iter();
            let eq = input.parse::<Token![=]>()?;
            expect_more(input, eq.span, "expected a source such as `read_csv(..)`, or a collection, after `=`")?;
            let first = names.next();
            more_names = names.collect();
            first
        } else {
            None
        };
        let head: Head = input.parse()?;
        // Where an error about what is missing after the statement so far points:
        // the end of input has no place of its own in the user's code.
        let mut last = head.span();
        let mut stages = Vec::new();
        while input.peek(Token![->]) {
            let arrow = input.parse::<Token![->]>()?;
            expect_more(input, arrow.spans[1], "expected a stage after `->`, e.g. `map(|x| ...)`")?;
            let stage: StageCall = input.parse()?;
            last = stage.span;
            stages.push(stage);
        }
        if !input.peek(Token![;]) {
            let message = "expected `->` and a stage, or `;` to end the statement";
            return Err(if input.is_empty() { syn::Error::new(last, message) } else { input.error(message) });
        }
        input.parse::<Token![;]>()?;
        Ok(Statement { name, more_names, head, stages })
    }
}

/// An error at `after` (the last token the user wrote) if the input ends here.
fn expect_more(input: ParseStream, after: Span, message: &str) -> syn::Result<()> {
    if input.is_empty() { Err(syn::Error::new(after, message)) } else { Ok(()) }
}

/// `(a, b) = ...` (names to define) rather than `(a, b) -> ...` (inputs to read).
fn is_tuple_of_names_then_eq(input: ParseStream) -> bool {
    fn names_then_eq(input: ParseStream) -> syn::Result<bool> {
        let content;
        parenthesized!(content in input);
        Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
        Ok(input.peek(Token![=]) && !input.peek(Token![==]) && !input.peek(Token![=>]))
    }
    names_then_eq(&input.fork()).unwrap_or(false)
}

impl Head {
    fn span(&self) -> Span {
        match self {
            Head::Stage(call) => call.span,
            Head::Collection(name) => name.span(),
            Head::Tuple { span, .. } => *span,
        }
    }
}

impl Parse for Head {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(syn::token::Paren) {
            let content;
            let parens = parenthesized!(content in input);
            let names = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
            return Ok(Head::Tuple { names: names.into_iter().collect(), span: parens.span.join() });
        }
        let fork = input.fork();
        let _: Ident = fork.parse()?;
        if fork.peek(syn::token::Paren) || fork.peek(Token![::]) || (fork.peek(Token![:]) && !fork.peek(Token![::])) {
            return Ok(Head::Stage(input.parse()?));
        }
        Ok(Head::Collection(input.parse()?))
    }
}

impl Parse for StageCall {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut label = None;
        if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            label = Some(input.parse()?);
            input.parse::<Token![:]>()?;
        }
        let op: Ident =
            input.parse().map_err(|e| syn::Error::new(e.span(), "expected a transform, e.g. `map(|x| ...)`"))?;
        let generics = if input.peek(Token![::]) { Some(input.parse()?) } else { None };
        if !input.peek(syn::token::Paren) {
            return Err(syn::Error::new(
                op.span(),
                format!("expected `(` after `{op}`: transforms are called like functions, `{op}(...)`"),
            ));
        }
        let content;
        let parens = parenthesized!(content in input);
        let args = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
        let span = op.span().join(parens.span.close()).unwrap_or_else(|| op.span());
        Ok(StageCall { label, op, generics, args: args.into_iter().collect(), span })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> PipelineAst {
        syn::parse_str(src).unwrap()
    }

    #[test]
    fn statements_heads_and_labels() {
        let ast = parse(
            "words = from_iter(v) -> split: flat_map(|l| f(l));
             (a, b) -> flatten() -> collect();
             words -> for_each(|w| g(w), );",
        );
        assert_eq!(ast.statements.len(), 3);
        let first = &ast.statements[0];
        assert_eq!(first.name.as_ref().unwrap(), "words");
        assert!(matches!(&first.head, Head::Stage(s) if s.op == "from_iter"));
        assert_eq!(first.stages[0].label.as_ref().unwrap(), "split");
        assert!(matches!(&ast.statements[1].head, Head::Tuple { names, .. } if names.len() == 2));
        assert!(matches!(&ast.statements[2].head, Head::Collection(n) if n == "words"));
        assert_eq!(ast.statements[2].stages[0].args.len(), 1);
    }

    #[test]
    fn missing_semicolon_is_an_error() {
        assert!(syn::parse_str::<PipelineAst>("a = from_iter(v) b = a -> map(f);").is_err());
    }
}
