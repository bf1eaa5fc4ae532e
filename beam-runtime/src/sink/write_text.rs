use std::fmt::Display;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use crate::__private::{Context, Leaf, Witness, Worker};
use crate::error::Error;

/// `write_text(dir, format)`: one line `format(&x)` per element, into part files
/// `dir/part-00000-of-00002`, ... (one per worker), named as Beam names shards.
#[doc(hidden)]
pub struct WriteText<F, T> {
    dir: PathBuf,
    format: F,
    _in: PhantomData<fn(T)>,
}

pub fn write_text<T, S, F>(_: Witness<T>, dir: impl AsRef<Path>, format: F) -> impl Leaf<In = T, Output = ()>
where
    F: Fn(&T) -> S + Sync,
    S: Display,
{
    WriteText { dir: dir.as_ref().to_owned(), format, _in: PhantomData }
}

/// One worker's part file, and the first error writing it (reported by `finish`).
#[doc(hidden)]
pub struct PartFile {
    path: PathBuf,
    out: io::Result<BufWriter<File>>,
}

impl<T, S: Display, F: Fn(&T) -> S + Sync> Leaf for WriteText<F, T> {
    type In = T;
    type Local = PartFile;
    type Output = ();

    fn local(&self, worker: Worker) -> PartFile {
        let path = self.dir.join(format!("part-{:05}-of-{:05}", worker.index, worker.count));
        let out = std::fs::create_dir_all(&self.dir)
            .and_then(|()| File::create(&path))
            .map(|f| BufWriter::with_capacity(1 << 16, f));
        PartFile { path, out }
    }

    #[inline]
    fn push(&self, local: &mut PartFile, input: T) {
        if let Ok(out) = &mut local.out
            && let Err(e) = writeln!(out, "{}", (self.format)(&input))
        {
            local.out = Err(e);
        }
    }

    fn finish(self, locals: Vec<PartFile>, _ctx: &Context) -> crate::Result<()> {
        for part in locals {
            let PartFile { path, out } = part;
            out.and_then(|mut out| out.flush()).map_err(|e| Error::io(path, e))?;
        }
        Ok(())
    }
}
