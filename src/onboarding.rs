//! The onboarding rules, in one place: which stage a client is at, how far
//! along it is, and when it counts as stuck.
//!
//! Everything here is pure; the store feeds it rows and writes back what it
//! computes, so the rules can be tested (and property-tested) on their own.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::timestamp::Timestamp;

/// Something that happened for a company elsewhere; also the auto-complete
/// condition of a milestone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactType {
    DealWon,
    ProjectCreated,
    InvoiceCreated,
    InvoicePaid,
}

impl FactType {
    pub const ALL: [FactType; 4] = [
        FactType::DealWon,
        FactType::ProjectCreated,
        FactType::InvoiceCreated,
        FactType::InvoicePaid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FactType::DealWon => "deal_won",
            FactType::ProjectCreated => "project_created",
            FactType::InvoiceCreated => "invoice_created",
            FactType::InvoicePaid => "invoice_paid",
        }
    }

    /// The allowed names, for error messages.
    pub fn allowed() -> String {
        FactType::ALL.map(FactType::as_str).join(", ")
    }
}

impl fmt::Display for FactType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FactType {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        FactType::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown fact type {text:?}; expected one of {}",
                    Self::allowed()
                )
            })
    }
}

impl rusqlite::ToSql for FactType {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for FactType {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: String| rusqlite::types::FromSqlError::Other(e.into()))
    }
}

/// How far one stage has come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageTally<'a> {
    pub stage_type: &'a str,
    pub completed: u32,
    pub total: u32,
}

/// The `type` of the first stage, in order, with an incomplete milestone.
///
/// Stages without milestones are passed over. When every milestone is
/// complete it is the last stage that has milestones; with no milestones at
/// all there is no current stage.
pub fn current_stage_type<'a>(stages: &[StageTally<'a>]) -> Option<&'a str> {
    let with_milestones = || stages.iter().filter(|s| s.total > 0);
    with_milestones()
        .find(|s| s.completed < s.total)
        .or_else(|| with_milestones().next_back())
        .map(|s| s.stage_type)
}

/// `completed × 100 / total` rounded half up, except that it reads 100 only
/// when everything is complete; 0 when there is nothing to complete.
pub fn completion_percentage(completed: u32, total: u32) -> u32 {
    if total == 0 {
        return 0;
    }
    let (completed, total) = (u64::from(completed.min(total)), u64::from(total));
    let rounded = ((completed * 200 + total) / (total * 2)) as u32;
    if rounded == 100 && completed < total {
        99
    } else {
        rounded
    }
}

/// The newest activity time at which a client still counts as stuck.
pub fn stuck_cutoff(now: Timestamp, stuck_after_days: u32) -> Timestamp {
    now.days_before(stuck_after_days)
}

/// Whether a client is stuck: it has milestones, not all complete, and no
/// activity since the cutoff.
pub fn is_stuck(completed: u32, total: u32, activity_at: Timestamp, cutoff: Timestamp) -> bool {
    total > 0 && completed < total && activity_at <= cutoff
}

/// Whole days since `last_activity`, rounded down.
pub fn days_since(last_activity: Option<Timestamp>, now: Timestamp) -> Option<i64> {
    last_activity.map(|at| at.whole_days_until(now))
}

/// Where completing came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Manual,
    Auto,
    Import,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Auto => "auto",
            Source::Import => "import",
        }
    }
}

impl rusqlite::ToSql for Source {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for Source {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        match value.as_str()? {
            "manual" => Ok(Source::Manual),
            "auto" => Ok(Source::Auto),
            "import" => Ok(Source::Import),
            other => Err(rusqlite::types::FromSqlError::Other(
                format!("unknown source {other:?}").into(),
            )),
        }
    }
}

/// A template as a client's onboarding shows it.
#[derive(Clone, Debug, Serialize)]
pub struct TemplateHeader {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
}

/// A milestone with this client's progress on it.
#[derive(Clone, Debug, Serialize)]
pub struct MilestoneProgress {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub position: u32,
    pub auto_complete: Option<FactType>,
    pub completed: bool,
    pub completed_at: Option<Timestamp>,
    pub completed_by: Option<String>,
    pub completed_by_name: Option<String>,
    pub source: Option<Source>,
    pub notes: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StageProgress {
    pub id: String,
    #[serde(rename = "type")]
    pub stage_type: String,
    pub name: String,
    pub position: u32,
    pub completed_count: u32,
    pub total_count: u32,
    pub milestones: Vec<MilestoneProgress>,
}

/// The answer of `GET /api/clients/:id/onboarding` for a client with a template.
#[derive(Clone, Debug, Serialize)]
pub struct Onboarding {
    pub template: TemplateHeader,
    pub stages: Vec<StageProgress>,
    pub current_stage_type: Option<String>,
    pub total_milestones: u32,
    pub completed_milestones: u32,
    pub completion_percentage: u32,
}

impl Onboarding {
    /// Builds the view from stages in order, filling in every count.
    pub fn new(template: TemplateHeader, mut stages: Vec<StageProgress>) -> Onboarding {
        for stage in &mut stages {
            stage.total_count = stage.milestones.len() as u32;
            stage.completed_count = stage.milestones.iter().filter(|m| m.completed).count() as u32;
        }
        let tallies: Vec<StageTally> = stages
            .iter()
            .map(|s| StageTally {
                stage_type: &s.stage_type,
                completed: s.completed_count,
                total: s.total_count,
            })
            .collect();
        let current_stage_type = current_stage_type(&tallies).map(str::to_owned);
        let total_milestones = stages.iter().map(|s| s.total_count).sum();
        let completed_milestones = stages.iter().map(|s| s.completed_count).sum();
        Onboarding {
            template,
            completion_percentage: completion_percentage(completed_milestones, total_milestones),
            stages,
            current_stage_type,
            total_milestones,
            completed_milestones,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(stage_type: &str, completed: u32, total: u32) -> StageTally<'_> {
        StageTally {
            stage_type,
            completed,
            total,
        }
    }

    #[test]
    fn current_stage_is_first_with_work_left() {
        let stages = [
            tally("kickoff", 2, 2),
            tally("setup", 1, 3),
            tally("launch", 0, 1),
        ];
        assert_eq!(current_stage_type(&stages), Some("setup"));
    }

    #[test]
    fn empty_stages_are_passed_over() {
        let stages = [
            tally("kickoff", 1, 1),
            tally("empty", 0, 0),
            tally("launch", 0, 2),
        ];
        assert_eq!(current_stage_type(&stages), Some("launch"));
    }

    #[test]
    fn all_complete_reads_last_stage_with_milestones() {
        let stages = [
            tally("kickoff", 1, 1),
            tally("launch", 2, 2),
            tally("empty", 0, 0),
        ];
        assert_eq!(current_stage_type(&stages), Some("launch"));
    }

    #[test]
    fn no_milestones_means_no_stage() {
        assert_eq!(current_stage_type(&[tally("a", 0, 0)]), None);
        assert_eq!(current_stage_type(&[]), None);
    }

    #[test]
    fn percentage_rounds_half_up_but_never_to_100_early() {
        assert_eq!(completion_percentage(1, 6), 17);
        assert_eq!(completion_percentage(1, 8), 13); // 12.5 rounds up
        assert_eq!(completion_percentage(1, 3), 33);
        assert_eq!(completion_percentage(2, 3), 67);
        assert_eq!(completion_percentage(199, 200), 99);
        assert_eq!(completion_percentage(200, 200), 100);
        assert_eq!(completion_percentage(0, 5), 0);
        assert_eq!(completion_percentage(0, 0), 0);
    }

    #[test]
    fn stuck_needs_unfinished_work_and_old_activity() {
        let now = Timestamp::parse("2026-12-04T12:00:00Z").unwrap();
        let cutoff = stuck_cutoff(now, 14);
        let exactly = now.days_before(14);
        let just_after = Timestamp::from_millis(exactly.millis() + 1);
        assert!(is_stuck(1, 3, exactly, cutoff));
        assert!(!is_stuck(1, 3, just_after, cutoff));
        assert!(!is_stuck(3, 3, exactly, cutoff));
        assert!(!is_stuck(0, 0, exactly, cutoff));
    }
}
