use std::marker::PhantomData;

use crate::__private::Witness;
use crate::barrier::{EachWorker, Gathered, Leaf, PerWorker};
use crate::context::{Scope, Worker};
use crate::error::Result;
use crate::exchange::Exchangeable;

/// Keeps every element, each worker's in its own part: for `collect()` (the run's
/// output) and for a collection held between two segments (the input of a
/// `flatten`, say). Where the kept elements go is the runner's business.
#[doc(hidden)]
pub struct Keep<T>(PhantomData<fn(T)>);

/// `collect()`: every element, in a `Vec` field of the run's output.
pub fn collect<T: Send + Exchangeable>(_: Witness<T>) -> impl Leaf<In = T, Out = T> {
    Gathered(Keep(PhantomData))
}

/// Holds a collection between two segments.
pub fn materialize<T: Send>(_: Witness<T>) -> impl Leaf<In = T, Out = T> {
    PerWorker(Keep(PhantomData))
}

impl<T: Send> EachWorker for Keep<T> {
    type In = T;
    type Local = Vec<T>;
    type Out = T;

    fn local(&self, _: Worker) -> Vec<T> {
        Vec::new()
    }

    #[inline(always)]
    fn push(&self, local: &mut Vec<T>, input: T) {
        local.push(input)
    }

    fn finish(&self, local: Vec<T>, _: &Scope) -> Result<Vec<T>> {
        Ok(local)
    }
}
