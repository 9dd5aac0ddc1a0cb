//! A client's progress through its assigned template: reading it,
//! assigning a template, ticking milestones and auto-completing them.
//!
//! Each function here runs inside the caller's transaction and leaves the
//! client's summary and history consistent with what it changed.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use crate::auth::Principal;
use crate::onboarding::{FactType, MilestoneProgress, Onboarding, Source, StageProgress};
use crate::store::activity::{self, Kind, NewEntry};
use crate::store::{clients, templates};
use crate::timestamp::Timestamp;
use crate::{Error, Result};

/// The client's onboarding; `None` when no template is assigned.
pub fn read(conn: &Connection, client_id: &str) -> Result<Option<Onboarding>> {
    let Some(template_id) = clients::assigned_template(conn, client_id)? else {
        return Ok(None);
    };
    let template = templates::header(conn, &template_id)?;
    let definition = templates::stages(conn, &template_id)?;

    let mut states: HashMap<String, MilestoneState> = conn
        .prepare_cached(
            "SELECT p.milestone_id, p.completed_at, p.completed_by, u.name, p.source, p.notes
             FROM progress p LEFT JOIN users u ON u.id = p.completed_by
             WHERE p.client_id = ?1 AND p.template_id = ?2",
        )?
        .query_map(params![client_id, template_id], |row| {
            Ok((
                row.get(0)?,
                MilestoneState {
                    completed_at: row.get(1)?,
                    completed_by: row.get(2)?,
                    completed_by_name: row.get(3)?,
                    source: row.get(4)?,
                    notes: row.get(5)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;

    let stages = definition
        .into_iter()
        .map(|stage| StageProgress {
            id: stage.id,
            stage_type: stage.stage_type,
            name: stage.name,
            position: stage.position,
            completed_count: 0,
            total_count: 0,
            milestones: stage
                .milestones
                .into_iter()
                .map(|m| {
                    let state = states.remove(&m.id).unwrap_or_default();
                    MilestoneProgress {
                        completed: state.completed_at.is_some(),
                        completed_at: state.completed_at,
                        completed_by: state.completed_by,
                        completed_by_name: state.completed_by_name,
                        source: state.source,
                        notes: state.notes,
                        id: m.id,
                        name: m.name,
                        description: m.description,
                        position: m.position,
                        auto_complete: m.auto_complete,
                    }
                })
                .collect(),
        })
        .collect();

    Ok(Some(Onboarding::new(template, stages)))
}

/// One client's progress on one milestone; the default is incomplete.
#[derive(Default)]
struct MilestoneState {
    completed_at: Option<Timestamp>,
    completed_by: Option<String>,
    completed_by_name: Option<String>,
    source: Option<Source>,
    notes: Option<String>,
}

/// Assigns `template_id` to a client.
///
/// Another template already assigned needs `force`; it is then replaced and
/// its progress dropped. The same template again keeps its progress. Either
/// way missing progress rows are added and every milestone whose condition a
/// recorded fact meets is completed.
pub fn assign(
    conn: &Connection,
    client_id: &str,
    template_id: &str,
    force: bool,
    user: &Principal,
    now: Timestamp,
) -> Result<()> {
    let current = clients::assigned_template(conn, client_id)?;
    if templates::is_active(conn, template_id)? != Some(true) {
        return Err(Error::not_found(format!(
            "no active template {template_id:?}"
        )));
    }

    let kind = match current {
        Some(current) if current != template_id => {
            if !force {
                return Err(Error::NeedsConfirmation {
                    current_template_id: current,
                });
            }
            conn.execute("DELETE FROM progress WHERE client_id = ?1", [client_id])?;
            Kind::Reassigned
        }
        _ => Kind::Assigned,
    };

    conn.execute(
        "UPDATE clients SET template_id = ?2, assigned_at = ?3, assigned_by = ?4 WHERE id = ?1",
        params![client_id, template_id, now, user.user_id],
    )?;
    activity::record(
        conn,
        client_id,
        &NewEntry {
            at: now,
            kind,
            template_id: Some(template_id),
            milestone_id: None,
            milestone_name: None,
            user_id: Some(&user.user_id),
            user_name: Some(&user.user_name),
            source: Source::Manual,
            notes: None,
        },
    )?;

    sync_with_template(conn, client_id, template_id, now)
}

/// Brings a client's progress in line with its template: adds rows for new
/// milestones, completes those a recorded fact meets, refreshes the summary.
pub fn sync_with_template(
    conn: &Connection,
    client_id: &str,
    template_id: &str,
    now: Timestamp,
) -> Result<()> {
    add_missing_rows(conn, client_id, template_id)?;
    auto_complete(conn, client_id, template_id, None, now)?;
    clients::refresh_summary(conn, client_id)
}

/// Adds an open progress row for each milestone of the template that the
/// client has no row for. Completes nothing.
pub fn add_missing_rows(conn: &Connection, client_id: &str, template_id: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO progress (client_id, template_id, milestone_id)
         SELECT ?1, template_id, id FROM milestones WHERE template_id = ?2
         ON CONFLICT (client_id, milestone_id) DO NOTHING",
    )?
    .execute(params![client_id, template_id])?;
    Ok(())
}

/// Completes the incomplete milestones whose condition is met by a recorded
/// fact (only facts of type `only`, when given). Returns their ids in
/// template order. The caller refreshes the summary.
pub fn auto_complete(
    conn: &Connection,
    client_id: &str,
    template_id: &str,
    only: Option<FactType>,
    now: Timestamp,
) -> Result<Vec<String>> {
    let due: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT m.id, m.name
             FROM milestones m
             JOIN stages s ON s.template_id = m.template_id AND s.id = m.stage_id
             JOIN progress p ON p.client_id = ?1 AND p.template_id = m.template_id
                 AND p.milestone_id = m.id
             WHERE m.template_id = ?2 AND p.completed_at IS NULL
                 AND m.auto_complete IS NOT NULL
                 AND (?3 IS NULL OR m.auto_complete = ?3)
                 AND EXISTS (SELECT 1 FROM facts f
                             WHERE f.client_id = ?1 AND f.type = m.auto_complete)
             ORDER BY s.position, s.id, m.position, m.id",
        )?
        .query_map(params![client_id, template_id, only], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;

    for (milestone_id, milestone_name) in &due {
        conn.prepare_cached(
            "UPDATE progress SET completed_at = ?3, completed_by = NULL, source = 'auto'
             WHERE client_id = ?1 AND milestone_id = ?2",
        )?
        .execute(params![client_id, milestone_id, now])?;
        activity::record(
            conn,
            client_id,
            &NewEntry {
                at: now,
                kind: Kind::Completed,
                template_id: Some(template_id),
                milestone_id: Some(milestone_id),
                milestone_name: Some(milestone_name),
                user_id: None,
                user_name: None,
                source: Source::Auto,
                notes: None,
            },
        )?;
    }
    Ok(due.into_iter().map(|(id, _)| id).collect())
}

/// What a milestone toggle asks for.
#[derive(Clone, Debug)]
pub struct Toggle {
    pub completed: bool,
    /// `None`: not given; `Some(None)`: given as null.
    pub notes: Option<Option<String>>,
}

/// Completes or un-completes one milestone of the client's template.
/// Returns whether anything changed; a toggle that changes nothing leaves
/// no trace.
pub fn toggle_milestone(
    conn: &Connection,
    client_id: &str,
    milestone_id: &str,
    toggle: Toggle,
    user: &Principal,
    now: Timestamp,
) -> Result<bool> {
    let template_id = clients::assigned_template(conn, client_id)?.ok_or_else(|| {
        Error::BadRequest(format!("client {client_id:?} has no template assigned"))
    })?;

    let found: Option<(String, Option<Timestamp>, Option<String>)> = conn
        .prepare_cached(
            "SELECT m.name, p.completed_at, p.notes
             FROM milestones m
             LEFT JOIN progress p ON p.client_id = ?1 AND p.template_id = m.template_id
                 AND p.milestone_id = m.id
             WHERE m.template_id = ?2 AND m.id = ?3",
        )?
        .query_row(params![client_id, template_id, milestone_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let (milestone_name, completed_at, old_notes) = found.ok_or_else(|| {
        Error::not_found(format!(
            "milestone {milestone_id:?} is not in template {template_id:?}"
        ))
    })?;
    let was_completed = completed_at.is_some();

    let (kind, notes) = match (toggle.completed, was_completed) {
        (true, false) => (Kind::Completed, toggle.notes.unwrap_or(old_notes)),
        (false, true) => (Kind::Uncompleted, toggle.notes.flatten()),
        (true, true) => match toggle.notes {
            Some(notes) if notes != old_notes => (Kind::NotesChanged, notes),
            _ => return Ok(false),
        },
        (false, false) => match toggle.notes.flatten() {
            notes if notes != old_notes => (Kind::NotesChanged, notes),
            _ => return Ok(false),
        },
    };

    if kind == Kind::NotesChanged {
        conn.prepare_cached(
            "INSERT INTO progress (client_id, template_id, milestone_id, notes)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (client_id, milestone_id) DO UPDATE SET notes = excluded.notes",
        )?
        .execute(params![client_id, template_id, milestone_id, notes])?;
    } else {
        let completed = kind == Kind::Completed;
        conn.prepare_cached(
            "INSERT INTO progress (client_id, template_id, milestone_id, completed_at,
                 completed_by, source, notes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (client_id, milestone_id) DO UPDATE
             SET completed_at = excluded.completed_at, completed_by = excluded.completed_by,
                 source = excluded.source, notes = excluded.notes",
        )?
        .execute(params![
            client_id,
            template_id,
            milestone_id,
            completed.then_some(now),
            completed.then_some(&user.user_id),
            completed.then_some(Source::Manual),
            notes
        ])?;
    }

    activity::record(
        conn,
        client_id,
        &NewEntry {
            at: now,
            kind,
            template_id: Some(&template_id),
            milestone_id: Some(milestone_id),
            milestone_name: Some(&milestone_name),
            user_id: Some(&user.user_id),
            user_name: Some(&user.user_name),
            source: Source::Manual,
            notes: notes.as_deref(),
        },
    )?;
    if kind != Kind::NotesChanged {
        clients::refresh_summary(conn, client_id)?;
    }
    Ok(true)
}
