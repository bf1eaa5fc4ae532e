use std::marker::PhantomData;

use crate::__private::Witness;
use crate::barrier::{EachWorker, Leaf, PerWorker};
use crate::context::{Scope, Worker};
use crate::error::Result;

/// `for_each(f)`: calls `f(x)` for every element, on many threads at once.
#[doc(hidden)]
pub struct ForEach<F, T> {
    f: F,
    _in: PhantomData<fn(T)>,
}

pub fn for_each<T, F: Fn(T) + Sync>(_: Witness<T>, f: F) -> impl Leaf<In = T, Out = ()> {
    PerWorker(ForEach { f, _in: PhantomData })
}

impl<T, F: Fn(T) + Sync> EachWorker for ForEach<F, T> {
    type In = T;
    type Local = ();
    type Out = ();

    fn local(&self, _: Worker) {}

    #[inline(always)]
    fn push(&self, _: &mut (), input: T) {
        (self.f)(input)
    }

    fn finish(&self, _: (), _: &Scope) -> Result<Vec<()>> {
        Ok(Vec::new())
    }
}
