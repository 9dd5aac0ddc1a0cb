//! Whole-database reads and writes for export and import: the rows as they
//! are, timestamps included, without the side effects of the API (no
//! auto-completion, no new history).

use rusqlite::{params, Connection, OptionalExtension};

use crate::onboarding::Source;
use crate::store::activity::{self, Entry};
use crate::store::templates::{self, TemplateInput};
use crate::store::{clients, progress};
use crate::timestamp::Timestamp;
use crate::{Error, Result};

/// A client's assignment as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub template_id: String,
    pub assigned_at: Option<Timestamp>,
    pub assigned_by: Option<String>,
}

/// One progress row worth exporting: completed, or carrying notes.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressRow {
    pub milestone_id: String,
    pub completed_at: Option<Timestamp>,
    pub completed_by: Option<String>,
    pub source: Option<Source>,
    pub notes: Option<String>,
}

pub fn all_client_ids(conn: &Connection) -> Result<Vec<String>> {
    let ids = conn
        .prepare("SELECT id FROM clients ORDER BY id")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

pub fn all_template_ids(conn: &Connection) -> Result<Vec<String>> {
    let ids = conn
        .prepare("SELECT id FROM templates ORDER BY id")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

pub fn assignment(conn: &Connection, client_id: &str) -> Result<Option<Assignment>> {
    let row: Option<(Option<String>, Option<Timestamp>, Option<String>)> = conn
        .prepare_cached("SELECT template_id, assigned_at, assigned_by FROM clients WHERE id = ?1")?
        .query_row([client_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    Ok(row.and_then(|(template_id, assigned_at, assigned_by)| {
        template_id.map(|template_id| Assignment {
            template_id,
            assigned_at,
            assigned_by,
        })
    }))
}

/// The progress rows that say something (completed, or with notes), in
/// template order.
pub fn progress_rows(conn: &Connection, client_id: &str) -> Result<Vec<ProgressRow>> {
    let rows = conn
        .prepare_cached(
            "SELECT p.milestone_id, p.completed_at, p.completed_by, p.source, p.notes
             FROM progress p
             JOIN milestones m ON m.template_id = p.template_id AND m.id = p.milestone_id
             JOIN stages s ON s.template_id = m.template_id AND s.id = m.stage_id
             WHERE p.client_id = ?1 AND (p.completed_at IS NOT NULL OR p.notes IS NOT NULL)
             ORDER BY s.position, s.id, m.position, m.id",
        )?
        .query_map([client_id], |row| {
            Ok(ProgressRow {
                milestone_id: row.get(0)?,
                completed_at: row.get(1)?,
                completed_by: row.get(2)?,
                source: row.get(3)?,
                notes: row.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Inserts or replaces a template with its own timestamps. Clients already
/// on it keep the progress of the milestones that remain and get open rows
/// for new ones; nothing is auto-completed and no history is written.
pub fn put_template(
    conn: &Connection,
    input: &TemplateInput,
    created_at: Timestamp,
    updated_at: Timestamp,
) -> Result<()> {
    let id = input.id.as_deref().expect("imported templates have ids");
    if templates::exists(conn, id)? {
        templates::replace_definition(conn, id, input, updated_at)?;
        for client_id in clients::ids_on_template(conn, id)? {
            progress::add_missing_rows(conn, &client_id, id)?;
            clients::refresh_summary(conn, &client_id)?;
        }
    } else {
        templates::create(conn, input, created_at)?;
    }
    conn.execute(
        "UPDATE templates SET active = ?2, created_at = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, input.active.unwrap_or(true), created_at, updated_at],
    )?;
    Ok(())
}

/// Inserts or replaces a client and clears its onboarding, facts and
/// history, ready for [`put_assignment`], facts and [`put_activity`].
pub fn reset_client(
    conn: &Connection,
    id: &str,
    name: &str,
    logo_url: Option<&str>,
    created_at: Timestamp,
) -> Result<()> {
    conn.execute(
        "INSERT INTO clients (id, name, logo_url, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, logo_url = excluded.logo_url,
             created_at = excluded.created_at, template_id = NULL, assigned_at = NULL,
             assigned_by = NULL, activity_at = NULL",
        params![id, name, logo_url, created_at],
    )?;
    conn.execute("DELETE FROM progress WHERE client_id = ?1", [id])?;
    conn.execute("DELETE FROM facts WHERE client_id = ?1", [id])?;
    conn.execute("DELETE FROM activity WHERE client_id = ?1", [id])?;
    Ok(())
}

/// Assigns a template with a row for each of its milestones, then writes
/// the given rows over them.
pub fn put_assignment(
    conn: &Connection,
    client_id: &str,
    assignment: &Assignment,
    rows: &[ProgressRow],
) -> Result<()> {
    conn.execute(
        "UPDATE clients SET template_id = ?2, assigned_at = ?3, assigned_by = ?4 WHERE id = ?1",
        params![
            client_id,
            assignment.template_id,
            assignment.assigned_at,
            assignment.assigned_by
        ],
    )?;
    progress::add_missing_rows(conn, client_id, &assignment.template_id)?;
    let mut update = conn.prepare_cached(
        "UPDATE progress SET completed_at = ?3, completed_by = ?4, source = ?5, notes = ?6
         WHERE client_id = ?1 AND milestone_id = ?2",
    )?;
    for row in rows {
        update.execute(params![
            client_id,
            row.milestone_id,
            row.completed_at,
            row.completed_by,
            row.source,
            row.notes
        ])?;
    }
    Ok(())
}

/// Writes history entries as given, keeping their ids where they have one.
/// Entries without one are numbered above `reserved`, the largest id the
/// rest of the document still has to write, so they never take its ids.
/// `Conflict` when an id belongs to another client's entry.
pub fn put_activity(
    conn: &Connection,
    client_id: &str,
    entries: &[ImportedEntry],
    reserved: i64,
) -> Result<()> {
    let mut taken = conn.prepare_cached("SELECT client_id FROM activity WHERE id = ?1")?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO activity (id, client_id, at, kind, template_id, milestone_id,
             milestone_name, user_id, user_name, source, notes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut next_free =
        conn.prepare_cached("SELECT max(coalesce((SELECT max(id) FROM activity), 0), ?1) + 1")?;
    for (i, entry) in entries.iter().enumerate() {
        let id = match entry.id {
            Some(id) => id,
            None => next_free.query_row([reserved], |row| row.get(0))?,
        };
        if entry.id.is_some() {
            let owner: Option<String> = taken.query_row([id], |row| row.get(0)).optional()?;
            if owner.is_some() {
                return Err(Error::invalid(
                    format!("activity[{i}].id"),
                    format!("{id} is already used by another client's history"),
                ));
            }
        }
        let e = &entry.entry;
        insert.execute(params![
            id,
            client_id,
            e.at,
            e.kind.as_str(),
            e.template_id,
            e.milestone_id,
            e.milestone_name,
            e.user_id,
            e.user_name,
            e.source,
            e.notes
        ])?;
    }
    Ok(())
}

/// A history entry to import; `id` is `None` to let the database number it.
#[derive(Clone, Debug)]
pub struct ImportedEntry {
    pub id: Option<i64>,
    pub entry: Entry,
}

/// Sets a client's activity time from its history (or its assignment, when
/// the history is empty), after an import.
pub fn settle_activity_time(conn: &Connection, client_id: &str) -> Result<()> {
    conn.execute(
        "UPDATE clients SET activity_at = coalesce(
             (SELECT max(at) FROM activity WHERE client_id = ?1), assigned_at)
         WHERE id = ?1",
        [client_id],
    )?;
    Ok(())
}

/// A client's whole history, oldest first.
pub fn activity(conn: &Connection, client_id: &str) -> Result<Vec<Entry>> {
    activity::all_for_client(conn, client_id)
}
