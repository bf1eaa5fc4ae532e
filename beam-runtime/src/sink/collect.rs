use std::marker::PhantomData;

use crate::__private::{Context, Leaf, Witness, Worker};
use crate::collection::Collection;

/// `collect()`: every element, in a `Vec` field of the run's output.
#[doc(hidden)]
pub struct Collect<T>(PhantomData<fn(T)>);

pub fn collect<T: Send>(_: Witness<T>) -> impl Leaf<In = T, Output = Vec<T>> {
    Collect(PhantomData)
}

impl<T: Send> Leaf for Collect<T> {
    type In = T;
    type Local = Vec<T>;
    type Output = Vec<T>;

    fn local(&self, _: Worker) -> Vec<T> {
        Vec::new()
    }

    #[inline(always)]
    fn push(&self, local: &mut Vec<T>, input: T) {
        local.push(input)
    }

    fn finish(self, locals: Vec<Vec<T>>, _ctx: &Context) -> crate::Result<Vec<T>> {
        Ok(Collection::from_parts(locals).into_vec())
    }
}

/// Holds a collection between two segments (for example an input of `flatten`).
#[doc(hidden)]
pub struct Materialize<T>(PhantomData<fn(T)>);

pub fn materialize<T: Send>(_: Witness<T>) -> impl Leaf<In = T, Output = Collection<T>> {
    Materialize(PhantomData)
}

impl<T: Send> Leaf for Materialize<T> {
    type In = T;
    type Local = Vec<T>;
    type Output = Collection<T>;

    fn local(&self, _: Worker) -> Vec<T> {
        Vec::new()
    }

    #[inline(always)]
    fn push(&self, local: &mut Vec<T>, input: T) {
        local.push(input)
    }

    fn finish(self, locals: Vec<Vec<T>>, _ctx: &Context) -> crate::Result<Collection<T>> {
        Ok(Collection::from_parts(locals))
    }
}
