//! The SQLite database: opening, migrating, and running work on it.
//!
//! Every connection runs in WAL mode with foreign keys on, `synchronous=FULL`
//! (a committed write is on disk before it is acknowledged) and a busy
//! timeout. Writes inside this process are serialised by a mutex before they
//! `BEGIN IMMEDIATE`, so they queue in order instead of spinning on SQLite's
//! lock; the busy timeout covers other processes (an import, a backup) that
//! write to the same file. All of it runs on tokio's blocking threads.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::{Error, Result};

mod embedded {
    refinery::embed_migrations!("sql");
}

/// How long a statement waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A pool of connections to one database file.
#[derive(Clone)]
pub struct Db {
    pool: Pool<SqliteConnectionManager>,
    write_lock: Arc<Mutex<()>>,
    /// One permit per pooled connection: requests queue here, on the async
    /// side, instead of as blocking threads contending for connections.
    slots: Arc<Semaphore>,
    /// How long a request waits for a slot before it is refused.
    wait: Duration,
}

impl Db {
    /// Opens a pool on `path`. The file must already be migrated.
    pub fn open(path: &Path, pool_size: u32, wait: Duration) -> Result<Db> {
        let manager = SqliteConnectionManager::file(path).with_init(configure);
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(wait)
            .build(manager)?;
        Ok(Db {
            pool,
            write_lock: Arc::new(Mutex::new(())),
            slots: Arc::new(Semaphore::new(pool_size as usize)),
            wait,
        })
    }

    /// A connection from the pool, waiting at most the configured time.
    pub fn connection(&self) -> Result<PooledConnection<SqliteConnectionManager>> {
        Ok(self.pool.get()?)
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction and commits it if
    /// `work` succeeds. Blocks: call it from a blocking thread.
    pub fn write_now<T>(&self, work: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        // The turn first, then a connection: waiting writers hold none.
        let _turn = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut conn = self.connection()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs read-only `work` on a pooled connection, in one read
    /// transaction so that all its queries see the same state. Blocks.
    pub fn read_now<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.connection()?;
        let tx = conn.transaction()?;
        work(&tx)
    }

    /// [`Db::read_now`] on a blocking thread, inside the caller's tracing span.
    pub async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        self.off_the_runtime(move || db.read_now(work)).await
    }

    /// [`Db::write_now`] on a blocking thread, inside the caller's tracing span.
    pub async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        self.off_the_runtime(move || db.write_now(work)).await
    }

    /// Runs blocking `work` on tokio's blocking pool once a slot is free,
    /// keeping the current span.
    async fn off_the_runtime<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        let _slot = tokio::time::timeout(self.wait, self.slots.acquire())
            .await
            .map_err(|_| Error::Unavailable("no database connection became free in time".into()))?
            .map_err(|_| Error::Internal("the database is closed".into()))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .in_current_span()
            .await
            .map_err(|err| Error::Internal(format!("database task failed: {err}")))?
    }
}

/// Per-connection settings; WAL mode itself is persistent and set by [`migrate`].
fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// Creates the database if needed and applies pending migrations.
///
/// Several processes may start on the same new file at once (`serve` beside
/// `import`, say). They take turns through an exclusive `flock` on the
/// database file, so that each sees the migrations the others applied. The
/// lock's descriptor is closed only after the migration connection, so it can
/// never drop SQLite's own POSIX locks of that connection.
pub fn migrate(path: &Path) -> Result<()> {
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|err| Error::Internal(format!("cannot open {}: {err}", path.display())))?;
    lock.lock()
        .map_err(|err| Error::Internal(format!("cannot lock {}: {err}", path.display())))?;

    let result = (|| {
        let mut conn = Connection::open(path)?;
        configure(&mut conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        embedded::migrations::runner()
            .set_grouped(true)
            .run(&mut conn)
            .map_err(|err| Error::Internal(format!("migration failed: {err}")))?;
        Ok(())
    })();

    drop(lock);
    result
}

/// Migrates `path` and opens a pool on it.
pub fn open_migrated(path: &Path, pool_size: u32, wait: Duration) -> Result<Db> {
    migrate(path)?;
    Db::open(path, pool_size, wait)
}
