//! Onboarding templates: their stages and milestones, and the checks a
//! definition must pass before it is stored.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::auth::random_id;
use crate::input::{check_id, check_name, check_text, present};
use crate::onboarding::{FactType, TemplateHeader};
use crate::store::{clients, progress};
use crate::timestamp::Timestamp;
use crate::{Error, Result};

/// A template definition as `POST` and `PUT` take it (and as import reads it).
#[derive(Clone, Debug, Deserialize)]
pub struct TemplateInput {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Absent keeps the default (or, on `PUT`, the current value); `null` is refused.
    #[serde(default, deserialize_with = "present")]
    pub active: Option<bool>,
    pub stages: Vec<StageInput>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StageInput {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub stage_type: String,
    pub name: String,
    #[serde(default)]
    pub milestones: Vec<MilestoneInput>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MilestoneInput {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub auto_complete: Option<FactType>,
}

/// A full template, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub stages: Vec<Stage>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stage {
    pub id: String,
    #[serde(rename = "type")]
    pub stage_type: String,
    pub name: String,
    pub position: u32,
    pub milestones: Vec<Milestone>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Milestone {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub position: u32,
    pub auto_complete: Option<FactType>,
}

/// A template in the list, with its counts.
#[derive(Clone, Debug, Serialize)]
pub struct TemplateSummary {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub stage_count: u32,
    pub milestone_count: u32,
    pub assigned_clients: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The fields `PATCH` may change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct TemplatePatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

fn check_stage_type(field: &str, stage_type: &str) -> Result<()> {
    let ok = (1..=50).contains(&stage_type.len())
        && stage_type
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        return Err(Error::invalid(
            field,
            "must be 1 to 50 characters of a-z, 0-9, _ and -",
        ));
    }
    Ok(())
}

impl TemplateInput {
    /// Checks every field and fills in generated ids. Field names in errors
    /// start with `prefix` (empty for a request body).
    pub fn validate(&mut self, prefix: &str) -> Result<()> {
        let at = |field: &str| format!("{prefix}{field}");

        if let Some(id) = &self.id {
            check_id(&at("id"), id)?;
        }
        check_name(&at("name"), &self.name)?;
        check_text(&at("description"), self.description.as_deref())?;

        let mut stage_ids = HashSet::new();
        let mut milestone_ids = HashSet::new();
        for (i, stage) in self.stages.iter_mut().enumerate() {
            let at = |field: &str| format!("{prefix}stages[{i}].{field}");
            let id = stage.id.get_or_insert_with(|| random_id("stg"));
            check_id(&at("id"), id)?;
            if !stage_ids.insert(id.clone()) {
                return Err(Error::invalid(at("id"), format!("{id:?} is used twice")));
            }
            check_stage_type(&at("type"), &stage.stage_type)?;
            check_name(&at("name"), &stage.name)?;

            for (j, milestone) in stage.milestones.iter_mut().enumerate() {
                let at = |field: &str| format!("{prefix}stages[{i}].milestones[{j}].{field}");
                let id = milestone.id.get_or_insert_with(|| random_id("ms"));
                check_id(&at("id"), id)?;
                if !milestone_ids.insert(id.clone()) {
                    return Err(Error::invalid(at("id"), format!("{id:?} is used twice")));
                }
                check_name(&at("name"), &milestone.name)?;
                check_text(&at("description"), milestone.description.as_deref())?;
            }
        }
        Ok(())
    }
}

/// Stores a new, validated template. `Conflict` when its id is taken.
pub fn create(conn: &Connection, input: &TemplateInput, now: Timestamp) -> Result<Template> {
    let id = input.id.clone().unwrap_or_else(|| random_id("tpl"));
    if exists(conn, &id)? {
        return Err(Error::Conflict(format!("template id {id:?} is taken")));
    }
    conn.execute(
        "INSERT INTO templates (id, name, description, active, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![
            id,
            input.name,
            input.description,
            input.active.unwrap_or(true),
            now
        ],
    )?;
    write_definition(conn, &id, input)?;
    get(conn, &id)
}

/// Replaces the definition of an existing template.
///
/// Stages and milestones that keep their ids keep every client's progress;
/// new milestones start incomplete and are auto-completed where a recorded
/// fact already meets them; dropped ones go with their progress. Every client
/// on the template has its summary recomputed.
pub fn replace(
    conn: &Connection,
    id: &str,
    input: &TemplateInput,
    now: Timestamp,
) -> Result<Template> {
    replace_definition(conn, id, input, now)?;

    for client_id in clients::ids_on_template(conn, id)? {
        progress::sync_with_template(conn, &client_id, id, now)?;
    }
    get(conn, id)
}

/// Replaces the stored definition only: dropped milestones go with their
/// progress, but clients on the template get no rows for new milestones and
/// no new summary. [`replace`] and the import bring them in line, each its
/// own way. `NotFound` when there is no such template.
pub fn replace_definition(
    conn: &Connection,
    id: &str,
    input: &TemplateInput,
    now: Timestamp,
) -> Result<()> {
    if !exists(conn, id)? {
        return Err(Error::not_found(format!("no template {id:?}")));
    }
    conn.execute(
        "UPDATE templates SET name = ?2, description = ?3,
             active = coalesce(?4, active), updated_at = ?5
         WHERE id = ?1",
        params![id, input.name, input.description, input.active, now],
    )?;
    write_definition(conn, id, input)
}

/// Upserts the stages and milestones of `input` and removes the others.
fn write_definition(conn: &Connection, template_id: &str, input: &TemplateInput) -> Result<()> {
    let mut upsert_stage = conn.prepare_cached(
        "INSERT INTO stages (template_id, id, type, name, position) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (template_id, id) DO UPDATE
         SET type = excluded.type, name = excluded.name, position = excluded.position",
    )?;
    let mut upsert_milestone = conn.prepare_cached(
        "INSERT INTO milestones
             (template_id, id, stage_id, name, description, position, auto_complete)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (template_id, id) DO UPDATE
         SET stage_id = excluded.stage_id, name = excluded.name,
             description = excluded.description, position = excluded.position,
             auto_complete = excluded.auto_complete",
    )?;

    let mut stage_ids = Vec::new();
    let mut milestone_ids = Vec::new();
    for (position, stage) in input.stages.iter().enumerate() {
        let stage_id = stage.id.as_deref().expect("validated input has ids");
        upsert_stage.execute(params![
            template_id,
            stage_id,
            stage.stage_type,
            stage.name,
            position as u32
        ])?;
        stage_ids.push(stage_id);

        for (position, milestone) in stage.milestones.iter().enumerate() {
            let milestone_id = milestone.id.as_deref().expect("validated input has ids");
            upsert_milestone.execute(params![
                template_id,
                milestone_id,
                stage_id,
                milestone.name,
                milestone.description,
                position as u32,
                milestone.auto_complete
            ])?;
            milestone_ids.push(milestone_id);
        }
    }

    let keep_milestones = serde_json::to_string(&milestone_ids).expect("strings serialise");
    conn.execute(
        "DELETE FROM milestones WHERE template_id = ?1
         AND id NOT IN (SELECT value FROM json_each(?2))",
        params![template_id, keep_milestones],
    )?;
    let keep_stages = serde_json::to_string(&stage_ids).expect("strings serialise");
    conn.execute(
        "DELETE FROM stages WHERE template_id = ?1
         AND id NOT IN (SELECT value FROM json_each(?2))",
        params![template_id, keep_stages],
    )?;
    Ok(())
}

/// Changes the name, description or active flag.
pub fn patch(
    conn: &Connection,
    id: &str,
    patch: &TemplatePatch,
    now: Timestamp,
) -> Result<Template> {
    if !exists(conn, id)? {
        return Err(Error::not_found(format!("no template {id:?}")));
    }
    let (set_description, description) = match &patch.description {
        Some(description) => (true, description.as_deref()),
        None => (false, None),
    };
    conn.execute(
        "UPDATE templates SET name = coalesce(?2, name),
             description = CASE WHEN ?3 THEN ?4 ELSE description END,
             active = coalesce(?5, active), updated_at = ?6
         WHERE id = ?1",
        params![
            id,
            patch.name,
            set_description,
            description,
            patch.active,
            now
        ],
    )?;
    get(conn, id)
}

/// Deletes a template no client has; `Conflict` while one has it.
pub fn delete(conn: &Connection, id: &str) -> Result<()> {
    if !exists(conn, id)? {
        return Err(Error::not_found(format!("no template {id:?}")));
    }
    let assigned = clients::ids_on_template(conn, id)?.len();
    if assigned > 0 {
        return Err(Error::Conflict(format!(
            "template {id:?} is assigned to {assigned} client(s); deactivate it instead"
        )));
    }
    conn.execute("DELETE FROM templates WHERE id = ?1", [id])?;
    Ok(())
}

pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM templates WHERE id = ?1")?
        .exists([id])?)
}

/// Whether the template exists and is active.
pub fn is_active(conn: &Connection, id: &str) -> Result<Option<bool>> {
    Ok(conn
        .prepare_cached("SELECT active FROM templates WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?)
}

/// A template's own fields, as a client's onboarding shows them.
pub fn header(conn: &Connection, id: &str) -> Result<TemplateHeader> {
    conn.prepare_cached("SELECT id, name, description, active FROM templates WHERE id = ?1")?
        .query_row([id], |row| {
            Ok(TemplateHeader {
                id: row.get(0)?,
                name: row.get(1)?,
                description: row.get(2)?,
                active: row.get(3)?,
            })
        })
        .optional()?
        .ok_or_else(|| Error::not_found(format!("no template {id:?}")))
}

/// The full template; `NotFound` when there is none.
pub fn get(conn: &Connection, id: &str) -> Result<Template> {
    let header = conn
        .prepare_cached(
            "SELECT id, name, description, active, created_at, updated_at
             FROM templates WHERE id = ?1",
        )?
        .query_row([id], |row| {
            Ok(Template {
                id: row.get(0)?,
                name: row.get(1)?,
                description: row.get(2)?,
                active: row.get(3)?,
                created_at: row.get(4)?,
                updated_at: row.get(5)?,
                stages: Vec::new(),
            })
        })
        .optional()?;
    let mut template = header.ok_or_else(|| Error::not_found(format!("no template {id:?}")))?;
    template.stages = stages(conn, id)?;
    Ok(template)
}

/// The stages of a template in order, each with its milestones in order.
pub fn stages(conn: &Connection, template_id: &str) -> Result<Vec<Stage>> {
    let mut stages: Vec<Stage> = conn
        .prepare_cached(
            "SELECT id, type, name, position FROM stages
             WHERE template_id = ?1 ORDER BY position, id",
        )?
        .query_map([template_id], |row| {
            Ok(Stage {
                id: row.get(0)?,
                stage_type: row.get(1)?,
                name: row.get(2)?,
                position: row.get(3)?,
                milestones: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;

    let mut stmt = conn.prepare_cached(
        "SELECT stage_id, id, name, description, position, auto_complete FROM milestones
         WHERE template_id = ?1 ORDER BY position, id",
    )?;
    let rows = stmt.query_map([template_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            Milestone {
                id: row.get(1)?,
                name: row.get(2)?,
                description: row.get(3)?,
                position: row.get(4)?,
                auto_complete: row.get(5)?,
            },
        ))
    })?;
    for row in rows {
        let (stage_id, milestone) = row?;
        if let Some(stage) = stages.iter_mut().find(|s| s.id == stage_id) {
            stage.milestones.push(milestone);
        }
    }
    Ok(stages)
}

/// Every template with its counts, by name.
pub fn list(conn: &Connection) -> Result<Vec<TemplateSummary>> {
    let mut stmt = conn.prepare(
        "SELECT t.id, t.name, t.description, t.active,
             (SELECT count(*) FROM stages s WHERE s.template_id = t.id),
             (SELECT count(*) FROM milestones m WHERE m.template_id = t.id),
             (SELECT count(*) FROM clients c WHERE c.template_id = t.id),
             t.created_at, t.updated_at
         FROM templates t ORDER BY t.name, t.id",
    )?;
    let templates = stmt
        .query_map([], |row| {
            Ok(TemplateSummary {
                id: row.get(0)?,
                name: row.get(1)?,
                description: row.get(2)?,
                active: row.get(3)?,
                stage_count: row.get(4)?,
                milestone_count: row.get(5)?,
                assigned_clients: row.get(6)?,
                created_at: row.get(7)?,
                updated_at: row.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(templates)
}
