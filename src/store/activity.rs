//! The append-only onboarding history of each client.
//!
//! Every entry is written in the same transaction as the change it records,
//! and moves the client's activity time forward; that time is what the stuck
//! rule reads.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::onboarding::Source;
use crate::timestamp::Timestamp;
use crate::Result;

/// What an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Assigned,
    Reassigned,
    Completed,
    Uncompleted,
    NotesChanged,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Assigned => "assigned",
            Kind::Reassigned => "reassigned",
            Kind::Completed => "completed",
            Kind::Uncompleted => "uncompleted",
            Kind::NotesChanged => "notes_changed",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        [
            Kind::Assigned,
            Kind::Reassigned,
            Kind::Completed,
            Kind::Uncompleted,
            Kind::NotesChanged,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// One history entry, as the API and the export show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub at: Timestamp,
    pub kind: Kind,
    pub template_id: Option<String>,
    pub milestone_id: Option<String>,
    pub milestone_name: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub source: Source,
    pub notes: Option<String>,
}

/// An entry about to be written; the id is given by the database.
#[derive(Clone, Debug)]
pub struct NewEntry<'a> {
    pub at: Timestamp,
    pub kind: Kind,
    pub template_id: Option<&'a str>,
    pub milestone_id: Option<&'a str>,
    pub milestone_name: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub user_name: Option<&'a str>,
    pub source: Source,
    pub notes: Option<&'a str>,
}

/// Appends an entry and moves the client's activity time up to it.
pub fn record(conn: &Connection, client_id: &str, entry: &NewEntry) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO activity (client_id, at, kind, template_id, milestone_id, milestone_name,
             user_id, user_name, source, notes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        client_id,
        entry.at,
        entry.kind.as_str(),
        entry.template_id,
        entry.milestone_id,
        entry.milestone_name,
        entry.user_id,
        entry.user_name,
        entry.source,
        entry.notes,
    ])?;
    conn.prepare_cached(
        "UPDATE clients SET activity_at = max(coalesce(activity_at, ?2), ?2) WHERE id = ?1",
    )?
    .execute(params![client_id, entry.at])?;
    Ok(())
}

/// Where a page of a client's history starts: just before this entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryCursor {
    pub at: Timestamp,
    pub id: i64,
}

/// A page of a client's history, newest first (by time, then id), starting
/// after `before`. Returns the page and the cursor of the next one.
pub fn list(
    conn: &Connection,
    client_id: &str,
    before: Option<EntryCursor>,
    limit: u32,
) -> Result<(Vec<Entry>, Option<EntryCursor>)> {
    let (at, id) = before.map_or((None, None), |c| (Some(c.at), Some(c.id)));
    let mut rows: Vec<(i64, Entry)> = conn
        .prepare_cached(
            "SELECT id, at, kind, template_id, milestone_id, milestone_name, user_id, user_name,
                 source, notes
             FROM activity WHERE client_id = ?1 AND (?2 IS NULL OR (at, id) < (?2, ?3))
             ORDER BY at DESC, id DESC LIMIT ?4",
        )?
        .query_map(params![client_id, at, id, limit + 1], entry_from_row)?
        .collect::<rusqlite::Result<_>>()?;

    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|(id, entry)| EntryCursor {
            at: entry.at,
            id: *id,
        })
    } else {
        None
    };
    Ok((rows.into_iter().map(|(_, e)| e).collect(), next))
}

/// A client's whole history, oldest first (for export).
pub fn all_for_client(conn: &Connection, client_id: &str) -> Result<Vec<Entry>> {
    let entries = conn
        .prepare_cached(
            "SELECT id, at, kind, template_id, milestone_id, milestone_name, user_id, user_name,
                 source, notes
             FROM activity WHERE client_id = ?1 ORDER BY at, id",
        )?
        .query_map([client_id], entry_from_row)?
        .map(|row| row.map(|(_, e)| e))
        .collect::<rusqlite::Result<_>>()?;
    Ok(entries)
}

fn entry_from_row(row: &rusqlite::Row) -> rusqlite::Result<(i64, Entry)> {
    let id: i64 = row.get(0)?;
    let kind: String = row.get(2)?;
    let kind = Kind::parse(&kind).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown activity kind {kind:?}").into(),
        )
    })?;
    Ok((
        id,
        Entry {
            id: id.to_string(),
            at: row.get(1)?,
            kind,
            template_id: row.get(3)?,
            milestone_id: row.get(4)?,
            milestone_name: row.get(5)?,
            user_id: row.get(6)?,
            user_name: row.get(7)?,
            source: row.get(8)?,
            notes: row.get(9)?,
        },
    ))
}
