//! Property tests of the onboarding rules through the store: for any
//! template and any sequence of facts, toggles and re-assignments, what the
//! store reports (stage counts, current stage, percentage, the client
//! summary, the history) equals a plain recomputation from a model kept here.

use std::collections::HashSet;
use std::time::Duration;

use onboarding::auth::{Permission, Principal};
use onboarding::db::{self, Db};
use onboarding::onboarding::{FactType, Source};
use onboarding::store::facts::{self, Fact};
use onboarding::store::progress::{self, Toggle};
use onboarding::store::templates::{self, MilestoneInput, StageInput, TemplateInput};
use onboarding::store::{activity, clients, users};
use onboarding::timestamp::Timestamp;
use proptest::prelude::*;

const CLIENT: &str = "acme";
const TEMPLATE: &str = "tpl";

/// One stage of a generated template: its type and its milestones'
/// auto-complete conditions.
#[derive(Clone, Debug)]
struct StageSpec {
    stage_type: String,
    conditions: Vec<Option<FactType>>,
}

/// Something done to the client after the template is assigned.
#[derive(Clone, Debug)]
enum Step {
    /// Toggle the milestone at this index (modulo the milestone count).
    Toggle {
        index: usize,
        completed: bool,
        notes: Option<Option<String>>,
    },
    /// Record a fact; references come from a small set so that repeats occur.
    Fact {
        fact_type: FactType,
        reference: Option<u8>,
    },
    /// Assign the same template again (`force: false`).
    Reassign,
}

/// What the test believes about one milestone.
#[derive(Clone, Debug)]
struct MilestoneModel {
    id: String,
    condition: Option<FactType>,
    completed_at: Option<Timestamp>,
    source: Option<Source>,
    notes: Option<String>,
}

/// What the test believes about the client.
struct Model {
    stages: Vec<(String, Vec<MilestoneModel>)>,
    fact_types: HashSet<FactType>,
    references: HashSet<(FactType, String)>,
    assigned: bool,
    history: usize,
}

impl Model {
    fn new(specs: &[StageSpec]) -> Model {
        let stages = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let milestones = spec
                    .conditions
                    .iter()
                    .enumerate()
                    .map(|(j, &condition)| MilestoneModel {
                        id: format!("m{i}_{j}"),
                        condition,
                        completed_at: None,
                        source: None,
                        notes: None,
                    })
                    .collect();
                (spec.stage_type.clone(), milestones)
            })
            .collect();
        Model {
            stages,
            fact_types: HashSet::new(),
            references: HashSet::new(),
            assigned: false,
            history: 0,
        }
    }

    fn milestones_mut(&mut self) -> impl Iterator<Item = &mut MilestoneModel> {
        self.stages.iter_mut().flat_map(|(_, ms)| ms.iter_mut())
    }

    /// Completes, in template order, every incomplete milestone whose
    /// condition is among `types`; returns their ids.
    fn auto_complete(&mut self, types: &HashSet<FactType>, now: Timestamp) -> Vec<String> {
        let mut done = Vec::new();
        for m in self.milestones_mut() {
            let met = m.condition.is_some_and(|c| types.contains(&c));
            if met && m.completed_at.is_none() {
                m.completed_at = Some(now);
                m.source = Some(Source::Auto);
                done.push(m.id.clone());
            }
        }
        self.history += done.len();
        done
    }

    /// A fact: whether it is new, and what it completes.
    fn fact(
        &mut self,
        fact_type: FactType,
        reference: Option<String>,
        now: Timestamp,
    ) -> Vec<String> {
        if let Some(reference) = reference {
            if !self.references.insert((fact_type, reference)) {
                return Vec::new();
            }
        }
        self.fact_types.insert(fact_type);
        if !self.assigned {
            return Vec::new();
        }
        self.auto_complete(&HashSet::from([fact_type]), now)
    }

    fn assign(&mut self, now: Timestamp) {
        self.assigned = true;
        self.history += 1;
        let types = self.fact_types.clone();
        self.auto_complete(&types, now);
    }

    /// A toggle per SPEC §4.3; returns whether it changed anything.
    fn toggle(&mut self, index: usize, toggle: &Toggle, now: Timestamp) -> bool {
        let m = self.milestones_mut().nth(index).expect("a milestone");
        let changed = match (toggle.completed, m.completed_at.is_some()) {
            (true, false) => {
                m.completed_at = Some(now);
                m.source = Some(Source::Manual);
                if let Some(notes) = &toggle.notes {
                    m.notes = notes.clone();
                }
                true
            }
            (false, true) => {
                m.completed_at = None;
                m.source = None;
                m.notes = toggle.notes.clone().flatten();
                true
            }
            (true, true) => match &toggle.notes {
                Some(notes) if *notes != m.notes => {
                    m.notes = notes.clone();
                    true
                }
                _ => false,
            },
            (false, false) => {
                let notes = toggle.notes.clone().flatten();
                let changed = notes != m.notes;
                m.notes = notes;
                changed
            }
        };
        self.history += usize::from(changed);
        changed
    }

    fn milestone_count(&self) -> usize {
        self.stages.iter().map(|(_, ms)| ms.len()).sum()
    }
}

/// `(type, completed, total)` per stage, recomputed from the model.
fn tallies(model: &Model) -> Vec<(String, u32, u32)> {
    model
        .stages
        .iter()
        .map(|(stage_type, ms)| {
            let done = ms.iter().filter(|m| m.completed_at.is_some()).count() as u32;
            (stage_type.clone(), done, ms.len() as u32)
        })
        .collect()
}

/// The first stage with an incomplete milestone; when all are complete the
/// last stage with milestones; `None` without milestones.
fn expected_stage(tallies: &[(String, u32, u32)]) -> Option<String> {
    let with_milestones: Vec<_> = tallies.iter().filter(|t| t.2 > 0).collect();
    with_milestones
        .iter()
        .find(|t| t.1 < t.2)
        .or(with_milestones.last())
        .map(|t| t.0.clone())
}

/// Completed × 100 / total rounded half up; 100 only when all are done.
fn expected_percentage(done: u32, total: u32) -> u32 {
    match (done, total) {
        (_, 0) => 0,
        (d, t) if d == t => 100,
        (d, t) => ((d * 200 + t) / (2 * t)).min(99),
    }
}

/// Checks everything the store reports against the model.
fn check(db: &Db, model: &Model) -> Result<(), TestCaseError> {
    let (onboarding, summary, history) = db
        .read_now(|conn| {
            Ok((
                progress::read(conn, CLIENT)?,
                clients::summary(conn, CLIENT)?,
                activity::all_for_client(conn, CLIENT)?.len(),
            ))
        })
        .unwrap();
    let onboarding = onboarding.expect("a template is assigned");

    let tallies = tallies(model);
    let done: u32 = tallies.iter().map(|t| t.1).sum();
    let total: u32 = tallies.iter().map(|t| t.2).sum();
    let stage = expected_stage(&tallies);
    let percentage = expected_percentage(done, total);
    let latest = model
        .stages
        .iter()
        .flat_map(|(_, ms)| ms.iter().filter_map(|m| m.completed_at))
        .max();

    prop_assert_eq!(onboarding.stages.len(), model.stages.len());
    for (stage, ((stage_type, ms), tally)) in onboarding
        .stages
        .iter()
        .zip(model.stages.iter().zip(&tallies))
    {
        prop_assert_eq!(&stage.stage_type, stage_type);
        prop_assert_eq!(stage.completed_count, tally.1);
        prop_assert_eq!(stage.total_count, tally.2);
        let ids: Vec<&str> = stage.milestones.iter().map(|m| m.id.as_str()).collect();
        let want: Vec<&str> = ms.iter().map(|m| m.id.as_str()).collect();
        prop_assert_eq!(ids, want);
        for (got, want) in stage.milestones.iter().zip(ms) {
            prop_assert_eq!(got.completed, want.completed_at.is_some(), "{}", want.id);
            prop_assert_eq!(got.completed_at, want.completed_at, "{}", want.id);
            prop_assert_eq!(got.source, want.source, "{}", want.id);
            prop_assert_eq!(&got.notes, &want.notes, "{}", want.id);
            let by = want.source.filter(|s| *s == Source::Manual).map(|_| "ana");
            prop_assert_eq!(got.completed_by.as_deref(), by, "{}", want.id);
        }
    }
    prop_assert_eq!(&onboarding.current_stage_type, &stage);
    prop_assert_eq!(onboarding.completed_milestones, done);
    prop_assert_eq!(onboarding.total_milestones, total);
    prop_assert_eq!(onboarding.completion_percentage, percentage);

    prop_assert_eq!(summary.template_id.as_deref(), Some(TEMPLATE));
    prop_assert_eq!(&summary.current_stage_type, &stage);
    prop_assert_eq!(summary.completed_count, done);
    prop_assert_eq!(summary.total_count, total);
    prop_assert_eq!(summary.completion_percentage, percentage);
    prop_assert_eq!(summary.last_activity, latest);

    prop_assert_eq!(history, model.history);
    Ok(())
}

fn fact_type() -> impl Strategy<Value = FactType> {
    prop::sample::select(FactType::ALL.to_vec())
}

fn stage_spec() -> impl Strategy<Value = StageSpec> {
    let stage_type = prop::sample::select(vec!["kickoff", "setup", "launch", "a-1"]);
    let condition = prop::option::weighted(0.5, fact_type());
    (stage_type, prop::collection::vec(condition, 0..4)).prop_map(|(stage_type, conditions)| {
        StageSpec {
            stage_type: stage_type.to_string(),
            conditions,
        }
    })
}

fn notes() -> impl Strategy<Value = Option<Option<String>>> {
    prop_oneof![
        Just(None),
        Just(Some(None)),
        prop::sample::select(vec!["a", "b", ""]).prop_map(|n| Some(Some(n.to_string()))),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..16usize, any::<bool>(), notes()).prop_map(|(index, completed, notes)| {
            Step::Toggle { index, completed, notes }
        }),
        3 => (fact_type(), prop::option::of(0..3u8))
            .prop_map(|(fact_type, reference)| Step::Fact { fact_type, reference }),
        1 => Just(Step::Reassign),
    ]
}

fn fact_of(fact_type: FactType, reference: Option<u8>) -> Fact {
    Fact {
        fact_type,
        reference: reference.map(|r| format!("R{r}")),
        occurred_at: None,
    }
}

/// A migrated database in `dir` with the user, the client and the template.
fn prepare(dir: &tempfile::TempDir, specs: &[StageSpec]) -> Db {
    let db = db::open_migrated(&dir.path().join("props.db"), 2, Duration::from_secs(5)).unwrap();
    let mut input = TemplateInput {
        id: Some(TEMPLATE.to_string()),
        name: "Generated".to_string(),
        description: None,
        active: None,
        stages: specs
            .iter()
            .enumerate()
            .map(|(i, spec)| StageInput {
                id: Some(format!("s{i}")),
                stage_type: spec.stage_type.clone(),
                name: format!("Stage {i}"),
                milestones: spec
                    .conditions
                    .iter()
                    .enumerate()
                    .map(|(j, &auto_complete)| MilestoneInput {
                        id: Some(format!("m{i}_{j}")),
                        name: format!("Milestone {i}.{j}"),
                        description: None,
                        auto_complete,
                    })
                    .collect(),
            })
            .collect(),
    };
    input.validate("").unwrap();

    let start = Timestamp::from_millis(1_700_000_000_000);
    db.write_now(|tx| {
        users::add_user(tx, "ana", "Ana", start)?;
        clients::put(tx, CLIENT, "Acme", None, start)?;
        templates::create(tx, &input, start)?;
        Ok(())
    })
    .unwrap();
    db
}

fn run_case(
    specs: Vec<StageSpec>,
    early_facts: Vec<(FactType, Option<u8>)>,
    steps: Vec<Step>,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let db = prepare(&dir, &specs);
    let user = Principal {
        user_id: "ana".to_string(),
        user_name: "Ana".to_string(),
        permissions: vec![Permission::All],
    };
    let mut model = Model::new(&specs);
    let mut clock = 1_700_000_000_000_i64;
    let mut tick = || {
        clock += 1_000;
        Timestamp::from_millis(clock)
    };

    // Facts recorded before any template is assigned complete nothing yet.
    for (fact_type, reference) in early_facts {
        let now = tick();
        let fact = fact_of(fact_type, reference);
        let recorded = db
            .write_now(|tx| facts::record(tx, CLIENT, &fact, now))
            .unwrap();
        prop_assert!(recorded.auto_completed.is_empty());
        model.fact(fact_type, fact.reference, now);
    }

    let now = tick();
    db.write_now(|tx| progress::assign(tx, CLIENT, TEMPLATE, false, &user, now))
        .unwrap();
    model.assign(now);
    check(&db, &model)?;

    for step in steps {
        let now = tick();
        match step {
            Step::Toggle {
                index,
                completed,
                notes,
            } => {
                let count = model.milestone_count();
                if count == 0 {
                    continue;
                }
                let index = index % count;
                let id = model
                    .stages
                    .iter()
                    .flat_map(|(_, ms)| ms)
                    .nth(index)
                    .unwrap()
                    .id
                    .clone();
                let toggle = Toggle { completed, notes };
                let changed = db
                    .write_now(|tx| {
                        progress::toggle_milestone(tx, CLIENT, &id, toggle.clone(), &user, now)
                    })
                    .unwrap();
                prop_assert_eq!(changed, model.toggle(index, &toggle, now), "{}", id);
            }
            Step::Fact {
                fact_type,
                reference,
            } => {
                let fact = fact_of(fact_type, reference);
                let recorded = db
                    .write_now(|tx| facts::record(tx, CLIENT, &fact, now))
                    .unwrap();
                let completed = model.fact(fact_type, fact.reference, now);
                prop_assert_eq!(recorded.auto_completed, completed);
            }
            Step::Reassign => {
                db.write_now(|tx| progress::assign(tx, CLIENT, TEMPLATE, false, &user, now))
                    .unwrap();
                model.assign(now);
            }
        }
        check(&db, &model)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_store_agrees_with_a_recomputation(
        specs in prop::collection::vec(stage_spec(), 0..5),
        early_facts in prop::collection::vec((fact_type(), prop::option::of(0..3u8)), 0..3),
        steps in prop::collection::vec(step(), 0..25),
    ) {
        run_case(specs, early_facts, steps)?;
    }
}

/// The pure rules on their own, over every count up to 200.
#[test]
fn percentage_and_current_stage_rules_hold_exhaustively() {
    use onboarding::onboarding::{completion_percentage, current_stage_type, StageTally};

    for total in 0..=200u32 {
        for done in 0..=total {
            assert_eq!(
                completion_percentage(done, total),
                expected_percentage(done, total),
                "{done}/{total}"
            );
        }
    }
    assert_eq!(completion_percentage(199, 200), 99);
    assert_eq!(completion_percentage(1, 200), 1);
    assert_eq!(completion_percentage(1, 6), 17);

    let stages = |list: &[(&'static str, u32, u32)]| -> Vec<StageTally<'static>> {
        list.iter()
            .map(|&(stage_type, completed, total)| StageTally {
                stage_type,
                completed,
                total,
            })
            .collect()
    };
    assert_eq!(current_stage_type(&stages(&[])), None);
    assert_eq!(current_stage_type(&stages(&[("a", 0, 0)])), None);
    assert_eq!(
        current_stage_type(&stages(&[("a", 2, 2), ("e", 0, 0), ("b", 1, 3)])),
        Some("b")
    );
    assert_eq!(
        current_stage_type(&stages(&[("a", 2, 2), ("b", 1, 1), ("e", 0, 0)])),
        Some("b")
    );
}
