//! Roles scoped to a subtree of the organisation, and THE authorization decision.
//!
//! Every page and API handler asks [`decide`]; nothing else grants access. The caller supplies
//! the target's ancestor chain (the unit itself and every unit above it in the current tree), so
//! the decision is pure and testable without a database.

use serde::{Deserialize, Serialize};

use crate::people::FieldGroup;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Quản trị Bộ
    MinistryAdmin,
    /// Quản trị Sở
    ProvinceAdmin,
    /// Quản trị xã/phường (formerly Phòng GDĐT)
    CommuneAdmin,
    /// Quản trị trường (hiệu trưởng)
    SchoolAdmin,
    /// Giảng viên sư phạm chủ chốt; scope: the university, reaching the provinces it covers
    KeyLecturer,
    /// GV/CBQL cốt cán: sees the groups assigned to them
    CoreTeacher,
    /// Đơn vị vận hành LMS: account support
    LmsOperator,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::MinistryAdmin,
        Role::ProvinceAdmin,
        Role::CommuneAdmin,
        Role::SchoolAdmin,
        Role::KeyLecturer,
        Role::CoreTeacher,
        Role::LmsOperator,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::MinistryAdmin => "ministry_admin",
            Role::ProvinceAdmin => "province_admin",
            Role::CommuneAdmin => "commune_admin",
            Role::SchoolAdmin => "school_admin",
            Role::KeyLecturer => "key_lecturer",
            Role::CoreTeacher => "core_teacher",
            Role::LmsOperator => "lms_operator",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
    fn is_admin(self) -> bool {
        matches!(self, Role::MinistryAdmin | Role::ProvinceAdmin | Role::CommuneAdmin | Role::SchoolAdmin)
    }
    /// Administrative rank: an admin may grant only roles of lower rank inside their scope.
    fn rank(self) -> u8 {
        match self {
            Role::MinistryAdmin => 5,
            Role::ProvinceAdmin => 4,
            Role::CommuneAdmin => 3,
            Role::SchoolAdmin => 2,
            Role::KeyLecturer | Role::CoreTeacher | Role::LmsOperator => 1,
        }
    }
}

/// A role at a unit: the role applies to that unit's whole subtree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub role: Role,
    pub unit_id: i64,
    /// For a key lecturer: the provinces their university covers (filled by the store).
    #[serde(default)]
    pub reach: Vec<i64>,
}

/// Who is asking.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Principal {
    pub account_id: i64,
    pub person_id: Option<i64>,
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See a unit and its subtree.
    ViewUnit,
    /// Restructure (merge, rename, move) or create units under the target.
    ManageUnit,
    /// See a person's record.
    ViewPerson,
    /// Change a group of a person's fields.
    EditPerson(FieldGroup),
    /// Issue activation codes, unlock accounts.
    ManageAccount,
    /// Add a person to the target unit (or move someone into it).
    AddPerson,
    /// Read the audit log of a subtree.
    ViewAudit,
    /// Grant a role at the target unit.
    GrantRole(Role),
    /// Edit module titles of the catalog.
    EditCatalog,
    /// Create and change programmes and rounds owned by the target unit, split classes, assign
    /// core people.
    ManageRound,
    /// See rounds, classes and enrollments of the target unit's subtree.
    ViewRound,
    /// Enroll learners of the target unit's subtree (a school enrolls its own).
    EnrollLearners,
    /// Study one's own enrollment (the target person is the learner).
    Study,
    /// Grade and return the essays and final assignments of a class (its core people).
    GradeClass,
    /// Read and post in a class's Q&A (its learners and core people) or a subject's reporter space.
    Discuss,
    /// Post announcements to a class (its core people, and admins over it).
    Announce,
    /// The second sign-off: mark a class's learners passed or not (its core people).
    SignOffCore,
    /// The third sign-off: confirm a class's results (key lecturers of the university covering
    /// the class's province).
    SignOffUniversity,
    /// Approve and export a round's list of completers (the round owner's admins).
    ApproveCompleters,
    /// Issue and revoke certificates (key lecturers of the covering university).
    IssueCertificates,
    /// Write, submit, upload the signed scan of and report on one's own peer-support plan (the
    /// target person is the author).
    WritePlan,
    /// See a peer-support plan: its author, and admins over its approver or its author.
    ViewPlan,
    /// Approve or return a submitted peer-support plan; the target's first unit is the approver
    /// unit. The school's admin for a school, the commune's admin for a commune; a province admin
    /// over everything below. Never one's own plan.
    ReviewPlan,
    /// Change a province's peer-support plan settings (who approves core managers' plans).
    ConfigurePlans,
    /// Send reminders to learners of a list: admins over the target unit, a class's core people
    /// for their class.
    Remind,
    /// See and retry the background jobs and e-mail outbox filed under a subtree (its admins).
    ManageJobs,
    /// Submit a unit's round report to the level above: an admin of that very unit (the
    /// target's first unit), not one above it.
    SubmitRoundReport,
    /// Write a class's reports (Mẫu 1, Mẫu 2 supplement requests): its core people.
    ReportClass,
    /// Write and submit one's own yearly BDTX plan (the target person is the author).
    WriteYearPlan,
    /// Approve or return a submitted yearly plan, or reopen an approved one; the target's first
    /// unit is the approver unit (a teacher's school, a manager's commune office or province),
    /// as for peer-support plans. Never one's own.
    ApproveYearPlan,
    /// Enter a person's yearly results (scores per content or module): admins over the target,
    /// which is the plan's approver unit and its ancestors (a teacher's school; a manager's
    /// commune office, which evaluates managers' BDTX under seed 001 mục V.3.1). Never one's own.
    EnterResults,
    /// Assess oneself against the professional standard, with evidence (the target person).
    SelfAssess,
    /// Comment on a colleague's self-assessment: people of the same school (the caller's relation
    /// `Colleague`, found by the web layer) and admins over the person. Never one's own.
    CommentStandard,
    /// The principal's evaluation against the standard: admins over the person. Never one's own.
    EvaluateStandard,
    /// See a person's yearly plan, results and standard assessment (themselves and admins over
    /// them: 404 otherwise), or a unit's yearly lists and roll-ups (admins over it: 403).
    ViewYearly,
    /// Choose the scoring policy of a school year for a province, add a policy version, set the
    /// year's dated deadlines.
    ConfigureYearly,
    /// Send a unit's classified BDTX list (a school) or summary (a commune office) of a school
    /// year to the office above: an admin of that very unit (the target's first unit), as for
    /// round reports.
    SendYearlyReport,
    /// Schedule and change the professional-activity sessions (sinh hoạt chuyên môn, 7-2-7
    /// in-person days) held by the target unit, a school or cluster: admins over it.
    ManageSessions,
    /// See a session and its attendance: its facilitator (`Relation::Staff`), admins over its
    /// unit, key lecturers covering it.
    ViewSession,
    /// Take a session's attendance (list or QR code) and upload its minutes: its facilitator
    /// (`Relation::Staff`) and admins over its unit.
    TakeAttendance,
    /// Check oneself in to a session with its QR code: the target person is the caller, enrolled
    /// in the round within the session's unit (`Relation::Learner`).
    CheckIn,
}

/// What the action is aimed at.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// The target unit (or the person's current units) and all their ancestors.
    pub units: Vec<i64>,
    /// The person concerned, if any.
    pub person_id: Option<i64>,
    /// The caller's own relation to the target (a class), found by the store.
    pub relation: Relation,
}

/// How the caller is attached to a class: assigned to it as a core person, or learning in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Relation {
    #[default]
    None,
    Learner,
    Staff,
    /// Works at the same school as the target person (for colleagues' comments).
    Colleague,
}

impl Target {
    pub fn unit(chain: Vec<i64>) -> Self {
        Target { units: chain, person_id: None, relation: Relation::None }
    }
    pub fn person(person_id: i64, chain: Vec<i64>) -> Self {
        Target { units: chain, person_id: Some(person_id), relation: Relation::None }
    }
    /// A class (its cluster's chain) and how the caller is attached to it.
    pub fn class(chain: Vec<i64>, relation: Relation) -> Self {
        Target { units: chain, person_id: None, relation }
    }
    pub fn global() -> Self {
        Target::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// 403: the caller may know the target exists but may not do this.
    Forbidden,
    /// 404: the target's existence is itself private to the caller.
    NotFound,
}

fn covers(g: &Grant, t: &Target) -> bool {
    g.role == Role::MinistryAdmin
        || t.units.contains(&g.unit_id)
        || (g.role == Role::KeyLecturer && g.reach.iter().any(|u| t.units.contains(u)))
}

/// The one authorization decision of BDTX.
pub fn decide(p: &Principal, action: Action, t: &Target) -> Decision {
    let has = |pred: &dyn Fn(&Grant) -> bool| p.grants.iter().any(|g| pred(g) && covers(g, t));
    let is_self = t.person_id.is_some() && t.person_id == p.person_id;
    let allow = |b: bool, otherwise: Decision| if b { Decision::Allow } else { otherwise };
    match action {
        Action::ViewUnit => allow(
            has(&|g| g.role.is_admin() || matches!(g.role, Role::KeyLecturer | Role::LmsOperator)),
            Decision::Forbidden,
        ),
        Action::ManageUnit => {
            allow(has(&|g| matches!(g.role, Role::MinistryAdmin | Role::ProvinceAdmin)), Decision::Forbidden)
        }
        Action::ViewPerson => allow(
            is_self || has(&|g| g.role.is_admin() || matches!(g.role, Role::KeyLecturer | Role::LmsOperator)),
            Decision::NotFound,
        ),
        Action::EditPerson(group) => {
            if decide(p, Action::ViewPerson, t) != Decision::Allow {
                return Decision::NotFound;
            }
            let ok = match group {
                FieldGroup::Contact => is_self || has(&|g| g.role.is_admin() || g.role == Role::LmsOperator),
                FieldGroup::Professional => has(&|g| g.role.is_admin()),
                FieldGroup::Identity => has(&|g| g.role.is_admin() && g.role != Role::SchoolAdmin),
            };
            allow(ok, Decision::Forbidden)
        }
        Action::ManageAccount => {
            if decide(p, Action::ViewPerson, t) != Decision::Allow {
                return Decision::NotFound;
            }
            allow(has(&|g| g.role.is_admin() || g.role == Role::LmsOperator), Decision::Forbidden)
        }
        Action::AddPerson => allow(has(&|g| g.role.is_admin()), Decision::Forbidden),
        Action::ViewAudit => allow(has(&|g| g.role.is_admin()), Decision::Forbidden),
        Action::GrantRole(role) => allow(
            has(&|g| g.role.is_admin() && (g.role == Role::MinistryAdmin || g.role.rank() > role.rank())),
            Decision::Forbidden,
        ),
        Action::EditCatalog => allow(p.grants.iter().any(|g| g.role == Role::MinistryAdmin), Decision::Forbidden),
        Action::ManageRound => {
            allow(has(&|g| matches!(g.role, Role::MinistryAdmin | Role::ProvinceAdmin)), Decision::Forbidden)
        }
        Action::ViewRound => allow(
            t.relation == Relation::Staff
                || has(&|g| g.role.is_admin() || matches!(g.role, Role::KeyLecturer | Role::LmsOperator)),
            Decision::Forbidden,
        ),
        Action::EnrollLearners => allow(has(&|g| g.role.is_admin()), Decision::Forbidden),
        Action::Study => allow(is_self, Decision::NotFound),
        Action::GradeClass => allow(t.relation == Relation::Staff, Decision::Forbidden),
        Action::Discuss => allow(
            t.relation != Relation::None || has(&|g| g.role.is_admin() || g.role == Role::KeyLecturer),
            Decision::Forbidden,
        ),
        Action::Announce => allow(t.relation == Relation::Staff || has(&|g| g.role.is_admin()), Decision::Forbidden),
        Action::SignOffCore => allow(t.relation == Relation::Staff, Decision::Forbidden),
        Action::SignOffUniversity | Action::IssueCertificates => allow(
            p.grants.iter().any(|g| g.role == Role::KeyLecturer && g.reach.iter().any(|u| t.units.contains(u))),
            Decision::Forbidden,
        ),
        Action::ApproveCompleters => {
            allow(has(&|g| matches!(g.role, Role::MinistryAdmin | Role::ProvinceAdmin)), Decision::Forbidden)
        }
        Action::WritePlan => allow(is_self, Decision::NotFound),
        Action::ViewPlan => allow(is_self || has(&|g| g.role.is_admin()), Decision::NotFound),
        Action::ReviewPlan => {
            let approver = t.units.first();
            let ok = p.grants.iter().any(|g| match g.role {
                Role::MinistryAdmin => true,
                Role::ProvinceAdmin => t.units.contains(&g.unit_id),
                Role::CommuneAdmin | Role::SchoolAdmin => approver == Some(&g.unit_id),
                Role::KeyLecturer | Role::CoreTeacher | Role::LmsOperator => false,
            });
            allow(ok && !is_self, Decision::Forbidden)
        }
        Action::ConfigurePlans | Action::ConfigureYearly => {
            allow(has(&|g| matches!(g.role, Role::MinistryAdmin | Role::ProvinceAdmin)), Decision::Forbidden)
        }
        Action::Remind => allow(t.relation == Relation::Staff || has(&|g| g.role.is_admin()), Decision::Forbidden),
        Action::ManageJobs => allow(has(&|g| g.role.is_admin()), Decision::Forbidden),
        Action::SubmitRoundReport => {
            let own = t.units.first();
            allow(p.grants.iter().any(|g| g.role.is_admin() && own == Some(&g.unit_id)), Decision::Forbidden)
        }
        Action::ReportClass => allow(t.relation == Relation::Staff, Decision::Forbidden),
        Action::WriteYearPlan | Action::SelfAssess => allow(is_self, Decision::NotFound),
        Action::ViewYearly => {
            let hidden = if t.person_id.is_some() { Decision::NotFound } else { Decision::Forbidden };
            allow(is_self || has(&|g| g.role.is_admin()), hidden)
        }
        Action::ApproveYearPlan => decide(p, Action::ReviewPlan, t),
        Action::SendYearlyReport => decide(p, Action::SubmitRoundReport, t),
        Action::EnterResults | Action::EvaluateStandard => {
            if decide(p, Action::ViewYearly, t) != Decision::Allow {
                return Decision::NotFound;
            }
            allow(!is_self && has(&|g| g.role.is_admin()), Decision::Forbidden)
        }
        Action::CommentStandard => {
            let colleague = t.relation == Relation::Colleague;
            if !colleague && decide(p, Action::ViewYearly, t) != Decision::Allow {
                return Decision::NotFound;
            }
            allow(!is_self && (colleague || has(&|g| g.role.is_admin())), Decision::Forbidden)
        }
        Action::ManageSessions => allow(has(&|g| g.role.is_admin()), Decision::Forbidden),
        Action::ViewSession => allow(
            t.relation == Relation::Staff || has(&|g| g.role.is_admin() || g.role == Role::KeyLecturer),
            Decision::Forbidden,
        ),
        Action::TakeAttendance => {
            allow(t.relation == Relation::Staff || has(&|g| g.role.is_admin()), Decision::Forbidden)
        }
        Action::CheckIn => allow(is_self && t.relation == Relation::Learner, Decision::Forbidden),
    }
}

impl Principal {
    pub fn can(&self, action: Action, t: &Target) -> bool {
        decide(self, action, t) == Decision::Allow
    }
    /// Units at which this principal may browse the tree (roots of their visible subtrees).
    pub fn browse_roots(&self) -> Vec<i64> {
        let mut roots = Vec::new();
        for g in &self.grants {
            if g.role.is_admin() || matches!(g.role, Role::LmsOperator) {
                roots.push(g.unit_id);
            }
            if g.role == Role::KeyLecturer {
                roots.extend(&g.reach);
            }
        }
        roots.sort();
        roots.dedup();
        roots
    }
    pub fn has_role(&self, r: Role) -> bool {
        self.grants.iter().any(|g| g.role == r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;

    // Tree: ministry 1 > province 2 > commune 3 > cluster 4 > school 5; province 20 > school 50;
    // university 9 covers province 2.
    const SCHOOL5: &[i64] = &[5, 4, 3, 2, 1];
    const SCHOOL50: &[i64] = &[50, 20, 1];

    fn principal(role: Role, unit: i64, person: Option<i64>) -> Principal {
        let reach = if role == Role::KeyLecturer { vec![2] } else { vec![] };
        Principal { account_id: 1, person_id: person, grants: vec![Grant { role, unit_id: unit, reach }] }
    }
    fn learner(person: i64) -> Principal {
        Principal { account_id: 2, person_id: Some(person), grants: vec![] }
    }

    #[test]
    fn every_role_is_denied_outside_its_scope() {
        let cases = [
            principal(Role::ProvinceAdmin, 2, None),
            principal(Role::CommuneAdmin, 3, None),
            principal(Role::SchoolAdmin, 5, None),
            principal(Role::KeyLecturer, 9, None),
            principal(Role::LmsOperator, 2, None),
            principal(Role::CoreTeacher, 5, Some(7)),
            learner(7),
        ];
        let other = Target::person(99, SCHOOL50.to_vec());
        for p in &cases {
            assert_eq!(decide(p, Action::ViewPerson, &other), NotFound, "{p:?}");
            assert_eq!(decide(p, Action::EditPerson(FieldGroup::Contact), &other), NotFound, "{p:?}");
            assert_eq!(decide(p, Action::ManageAccount, &other), NotFound, "{p:?}");
            assert_eq!(decide(p, Action::ViewUnit, &Target::unit(SCHOOL50.to_vec())), Forbidden, "{p:?}");
            assert_eq!(decide(p, Action::ManageUnit, &Target::unit(SCHOOL50.to_vec())), Forbidden, "{p:?}");
            assert_eq!(decide(p, Action::ViewAudit, &Target::unit(SCHOOL50.to_vec())), Forbidden, "{p:?}");
            assert_eq!(decide(p, Action::AddPerson, &Target::unit(SCHOOL50.to_vec())), Forbidden, "{p:?}");
            assert_eq!(
                decide(p, Action::GrantRole(Role::CoreTeacher), &Target::unit(SCHOOL50.to_vec())),
                Forbidden,
                "{p:?}"
            );
            assert_eq!(decide(p, Action::EditCatalog, &Target::global()), Forbidden, "{p:?}");
            let class = Target::class(SCHOOL50.to_vec(), Relation::None);
            for a in [Action::ManageRound, Action::ViewRound, Action::EnrollLearners, Action::GradeClass] {
                assert_eq!(decide(p, a, &class), Forbidden, "{a:?} {p:?}");
            }
            assert_eq!(decide(p, Action::Discuss, &class), Forbidden, "{p:?}");
            for a in
                [Action::SignOffCore, Action::SignOffUniversity, Action::ApproveCompleters, Action::IssueCertificates]
            {
                assert_eq!(decide(p, a, &class), Forbidden, "{a:?} {p:?}");
            }
            assert_eq!(decide(p, Action::Announce, &class), Forbidden, "{p:?}");
            assert_eq!(decide(p, Action::Study, &other), NotFound, "{p:?}");
            assert_eq!(decide(p, Action::WritePlan, &other), NotFound, "{p:?}");
            assert_eq!(decide(p, Action::ViewPlan, &other), NotFound, "{p:?}");
            assert_ne!(decide(p, Action::ReviewPlan, &other), Allow, "{p:?}");
            assert_eq!(decide(p, Action::ConfigurePlans, &Target::unit(SCHOOL50.to_vec())), Forbidden, "{p:?}");
            for a in [
                Action::WriteYearPlan,
                Action::SelfAssess,
                Action::ViewYearly,
                Action::EnterResults,
                Action::EvaluateStandard,
                Action::CommentStandard,
            ] {
                assert_eq!(decide(p, a, &other), NotFound, "{a:?} {p:?}");
            }
            assert_ne!(decide(p, Action::ApproveYearPlan, &other), Allow, "{p:?}");
            assert_eq!(decide(p, Action::ViewYearly, &Target::unit(SCHOOL50.to_vec())), Forbidden, "{p:?}");
            assert_eq!(decide(p, Action::ConfigureYearly, &Target::unit(SCHOOL50.to_vec())), Forbidden, "{p:?}");
            for a in [Action::ManageSessions, Action::ViewSession, Action::TakeAttendance, Action::CheckIn] {
                assert_eq!(decide(p, a, &class), Forbidden, "{a:?} {p:?}");
            }
        }
    }

    #[test]
    fn ministry_admin_sees_everything() {
        let p = principal(Role::MinistryAdmin, 1, None);
        assert_eq!(decide(&p, Action::ViewPerson, &Target::person(99, SCHOOL50.to_vec())), Allow);
        assert_eq!(decide(&p, Action::ManageUnit, &Target::unit(SCHOOL50.to_vec())), Allow);
        assert_eq!(decide(&p, Action::EditCatalog, &Target::global()), Allow);
    }

    #[test]
    fn field_groups_by_role() {
        let t = Target::person(8, SCHOOL5.to_vec());
        let school = principal(Role::SchoolAdmin, 5, None);
        assert_eq!(decide(&school, Action::EditPerson(FieldGroup::Professional), &t), Allow);
        assert_eq!(decide(&school, Action::EditPerson(FieldGroup::Identity), &t), Forbidden);
        let commune = principal(Role::CommuneAdmin, 3, None);
        assert_eq!(decide(&commune, Action::EditPerson(FieldGroup::Identity), &t), Allow);
        let op = principal(Role::LmsOperator, 2, None);
        assert_eq!(decide(&op, Action::EditPerson(FieldGroup::Contact), &t), Allow);
        assert_eq!(decide(&op, Action::EditPerson(FieldGroup::Professional), &t), Forbidden);
        let lecturer = principal(Role::KeyLecturer, 9, None);
        assert_eq!(decide(&lecturer, Action::ViewPerson, &t), Allow);
        assert_eq!(decide(&lecturer, Action::EditPerson(FieldGroup::Contact), &t), Forbidden);
    }

    #[test]
    fn learner_sees_and_edits_only_own_contact() {
        let me = learner(8);
        let t = Target::person(8, SCHOOL5.to_vec());
        assert_eq!(decide(&me, Action::ViewPerson, &t), Allow);
        assert_eq!(decide(&me, Action::EditPerson(FieldGroup::Contact), &t), Allow);
        assert_eq!(decide(&me, Action::EditPerson(FieldGroup::Identity), &t), Forbidden);
        assert_eq!(decide(&me, Action::ViewPerson, &Target::person(9, SCHOOL5.to_vec())), NotFound);
        assert_eq!(decide(&me, Action::ViewUnit, &Target::unit(SCHOOL5.to_vec())), Forbidden);
    }

    #[test]
    fn oversight_actions_stay_in_scope() {
        let school = Target::unit(SCHOOL5.to_vec());
        let other = Target::unit(SCHOOL50.to_vec());
        let commune = principal(Role::CommuneAdmin, 3, None);
        let head = principal(Role::SchoolAdmin, 5, None);
        // Admins remind and see jobs below them, never beside them.
        for a in [Action::Remind, Action::ManageJobs] {
            assert_eq!(decide(&commune, a, &school), Allow, "{a:?}");
            assert_eq!(decide(&head, a, &school), Allow, "{a:?}");
            assert_eq!(decide(&head, a, &other), Forbidden, "{a:?}");
            assert_eq!(decide(&learner(8), a, &school), Forbidden, "{a:?}");
        }
        // A unit's report is submitted by its own admin, not by the level above.
        assert_eq!(decide(&head, Action::SubmitRoundReport, &school), Allow);
        assert_eq!(decide(&commune, Action::SubmitRoundReport, &school), Forbidden);
        assert_eq!(decide(&commune, Action::SubmitRoundReport, &Target::unit(vec![3, 2, 1])), Allow);
        // A class's core people remind their class and write its reports; admins do not write them.
        let core = principal(Role::CoreTeacher, 5, Some(7));
        let staff = Target::class(SCHOOL5.to_vec(), Relation::Staff);
        let outsider = Target::class(SCHOOL50.to_vec(), Relation::None);
        assert_eq!(decide(&core, Action::Remind, &staff), Allow);
        assert_eq!(decide(&core, Action::ReportClass, &staff), Allow);
        assert_eq!(decide(&core, Action::Remind, &outsider), Forbidden);
        assert_eq!(decide(&core, Action::ReportClass, &outsider), Forbidden);
        assert_eq!(decide(&head, Action::ReportClass, &Target::class(SCHOOL5.to_vec(), Relation::None)), Forbidden);
        assert_eq!(decide(&learner(8), Action::Remind, &Target::class(SCHOOL5.to_vec(), Relation::Learner)), Forbidden);
    }

    #[test]
    fn rounds_and_classes() {
        let prov = Target::unit(vec![2, 1]);
        assert_eq!(decide(&principal(Role::ProvinceAdmin, 2, None), Action::ManageRound, &prov), Allow);
        assert_eq!(decide(&principal(Role::CommuneAdmin, 3, None), Action::ManageRound, &prov), Forbidden);
        let school = Target::unit(SCHOOL5.to_vec());
        assert_eq!(decide(&principal(Role::SchoolAdmin, 5, None), Action::EnrollLearners, &school), Allow);
        assert_eq!(decide(&principal(Role::SchoolAdmin, 5, None), Action::ManageRound, &school), Forbidden);
        // Grading is for the core people assigned to the class, not for admins.
        let core = principal(Role::CoreTeacher, 5, Some(7));
        assert_eq!(decide(&core, Action::GradeClass, &Target::class(SCHOOL5.to_vec(), Relation::Staff)), Allow);
        assert_eq!(decide(&core, Action::GradeClass, &Target::class(SCHOOL5.to_vec(), Relation::None)), Forbidden);
        let admin = principal(Role::ProvinceAdmin, 2, None);
        assert_eq!(decide(&admin, Action::GradeClass, &Target::class(SCHOOL5.to_vec(), Relation::None)), Forbidden);
        let me = learner(8);
        assert_eq!(decide(&me, Action::Study, &Target::person(8, SCHOOL5.to_vec())), Allow);
        assert_eq!(decide(&me, Action::Discuss, &Target::class(SCHOOL5.to_vec(), Relation::Learner)), Allow);
        assert_eq!(decide(&me, Action::Announce, &Target::class(SCHOOL5.to_vec(), Relation::Learner)), Forbidden);
        assert_eq!(decide(&me, Action::GradeClass, &Target::class(SCHOOL5.to_vec(), Relation::Learner)), Forbidden);
    }

    #[test]
    fn sign_offs_by_role() {
        let class = |r| Target::class(SCHOOL5.to_vec(), r);
        let core = principal(Role::CoreTeacher, 5, Some(7));
        assert_eq!(decide(&core, Action::SignOffCore, &class(Relation::Staff)), Allow);
        assert_eq!(decide(&core, Action::SignOffUniversity, &class(Relation::Staff)), Forbidden);
        let lecturer = principal(Role::KeyLecturer, 9, Some(3));
        assert_eq!(decide(&lecturer, Action::SignOffUniversity, &class(Relation::None)), Allow);
        assert_eq!(decide(&lecturer, Action::IssueCertificates, &class(Relation::None)), Allow);
        assert_eq!(decide(&lecturer, Action::SignOffCore, &class(Relation::None)), Forbidden);
        let prov = principal(Role::ProvinceAdmin, 2, None);
        assert_eq!(decide(&prov, Action::ApproveCompleters, &Target::unit(vec![2, 1])), Allow);
        assert_eq!(decide(&prov, Action::SignOffUniversity, &class(Relation::None)), Forbidden);
        assert_eq!(decide(&prov, Action::IssueCertificates, &class(Relation::None)), Forbidden);
        let school = principal(Role::SchoolAdmin, 5, None);
        assert_eq!(decide(&school, Action::ApproveCompleters, &Target::unit(SCHOOL5.to_vec())), Forbidden);
    }

    #[test]
    fn granting_needs_higher_rank() {
        let t = Target::unit(SCHOOL5.to_vec());
        let prov = principal(Role::ProvinceAdmin, 2, None);
        assert_eq!(decide(&prov, Action::GrantRole(Role::SchoolAdmin), &t), Allow);
        assert_eq!(decide(&prov, Action::GrantRole(Role::ProvinceAdmin), &t), Forbidden);
        let school = principal(Role::SchoolAdmin, 5, None);
        assert_eq!(decide(&school, Action::GrantRole(Role::CoreTeacher), &t), Allow);
        assert_eq!(decide(&school, Action::GrantRole(Role::SchoolAdmin), &t), Forbidden);
    }
    #[test]
    fn peer_support_plans() {
        // A teacher's plan at school 5: the author writes it, the school's admin reviews it.
        let author = Principal {
            account_id: 3,
            person_id: Some(7),
            grants: vec![Grant { role: Role::CoreTeacher, unit_id: 5, reach: vec![] }],
        };
        let mine = Target::person(7, SCHOOL5.to_vec());
        assert_eq!(decide(&author, Action::WritePlan, &mine), Allow);
        assert_eq!(decide(&author, Action::ViewPlan, &mine), Allow);
        assert_eq!(decide(&author, Action::ReviewPlan, &mine), Forbidden);
        assert_eq!(decide(&author, Action::WritePlan, &Target::person(8, SCHOOL5.to_vec())), NotFound);
        assert_eq!(decide(&author, Action::ViewPlan, &Target::person(8, SCHOOL5.to_vec())), NotFound);
        assert_eq!(decide(&learner(8), Action::ViewPlan, &mine), NotFound);
        assert_eq!(decide(&learner(8), Action::ReviewPlan, &mine), Forbidden);

        let school = principal(Role::SchoolAdmin, 5, Some(70));
        assert_eq!(decide(&school, Action::ReviewPlan, &mine), Allow);
        assert_eq!(decide(&school, Action::WritePlan, &mine), NotFound);
        // Only the approver's level decides: the commune's admin sees a school's plan, the
        // school decides it; a commune-approved plan (a manager's) is the commune's.
        let commune = principal(Role::CommuneAdmin, 3, None);
        assert_eq!(decide(&commune, Action::ViewPlan, &mine), Allow);
        assert_eq!(decide(&commune, Action::ReviewPlan, &mine), Forbidden);
        let managers = Target::person(7, vec![3, 2, 1]);
        assert_eq!(decide(&commune, Action::ReviewPlan, &managers), Allow);
        assert_eq!(decide(&school, Action::ReviewPlan, &managers), Forbidden);
        // The province reviews anything below it, the Ministry everything.
        let prov = principal(Role::ProvinceAdmin, 2, None);
        assert_eq!(decide(&prov, Action::ReviewPlan, &mine), Allow);
        assert_eq!(decide(&prov, Action::ReviewPlan, &Target::person(9, SCHOOL50.to_vec())), Forbidden);
        assert_eq!(decide(&principal(Role::MinistryAdmin, 1, None), Action::ReviewPlan, &mine), Allow);
        // Nobody decides their own plan, whatever their grant.
        let own = principal(Role::SchoolAdmin, 5, Some(7));
        assert_eq!(decide(&own, Action::ReviewPlan, &mine), Forbidden);
        // Admins elsewhere, lecturers and operators neither see nor review.
        for p in [
            principal(Role::CommuneAdmin, 30, None),
            principal(Role::SchoolAdmin, 50, None),
            principal(Role::KeyLecturer, 9, None),
            principal(Role::LmsOperator, 2, None),
        ] {
            assert_eq!(decide(&p, Action::ReviewPlan, &mine), Forbidden, "{p:?}");
            assert_eq!(decide(&p, Action::ViewPlan, &mine), NotFound, "{p:?}");
        }
        // The province's setting is the province's admins'.
        let province = Target::unit(vec![2, 1]);
        assert_eq!(decide(&prov, Action::ConfigurePlans, &province), Allow);
        assert_eq!(decide(&commune, Action::ConfigurePlans, &province), Forbidden);
        assert_eq!(decide(&principal(Role::ProvinceAdmin, 20, None), Action::ConfigurePlans, &province), Forbidden);
    }

    #[test]
    fn yearly_plans_results_and_standards() {
        let teacher = learner(7);
        let mine = Target::person(7, SCHOOL5.to_vec());
        let colleague_of_mine = Target::person(8, SCHOOL5.to_vec());
        for a in [Action::WriteYearPlan, Action::SelfAssess, Action::ViewYearly] {
            assert_eq!(decide(&teacher, a, &mine), Allow, "{a:?}");
            assert_eq!(decide(&teacher, a, &colleague_of_mine), NotFound, "{a:?}");
        }
        for a in [Action::EnterResults, Action::EvaluateStandard, Action::CommentStandard] {
            assert_eq!(decide(&teacher, a, &mine), Forbidden, "{a:?}: not one's own");
        }
        assert_eq!(decide(&teacher, Action::ApproveYearPlan, &mine), Forbidden);
        // A colleague of the same school comments, and only comments.
        let with = Target { relation: Relation::Colleague, ..colleague_of_mine.clone() };
        assert_eq!(decide(&teacher, Action::CommentStandard, &with), Allow);
        assert_eq!(decide(&teacher, Action::EvaluateStandard, &with), NotFound);
        assert_eq!(decide(&teacher, Action::CommentStandard, &colleague_of_mine), NotFound);
        // The principal approves, enters results and evaluates in their school, not elsewhere.
        let principal_5 = principal(Role::SchoolAdmin, 5, Some(70));
        for a in [Action::ApproveYearPlan, Action::EnterResults, Action::EvaluateStandard, Action::ViewYearly] {
            assert_eq!(decide(&principal_5, a, &mine), Allow, "{a:?}");
        }
        let elsewhere = Target::person(9, SCHOOL50.to_vec());
        for a in [Action::EnterResults, Action::EvaluateStandard, Action::ViewYearly, Action::CommentStandard] {
            assert_eq!(decide(&principal_5, a, &elsewhere), NotFound, "{a:?}");
        }
        assert_eq!(decide(&principal_5, Action::ApproveYearPlan, &elsewhere), Forbidden);
        assert_eq!(decide(&principal_5, Action::ViewYearly, &Target::unit(SCHOOL5.to_vec())), Allow);
        assert_eq!(decide(&principal_5, Action::ViewYearly, &Target::unit(SCHOOL50.to_vec())), Forbidden);
        // The principal's own plan and results are decided above the school.
        let own = Target::person(70, SCHOOL5.to_vec());
        assert_eq!(decide(&principal_5, Action::EnterResults, &own), Forbidden);
        assert_eq!(decide(&principal_5, Action::EvaluateStandard, &own), Forbidden);
        assert_eq!(decide(&principal_5, Action::ApproveYearPlan, &Target::person(70, vec![3, 2, 1])), Forbidden);
        let commune = principal(Role::CommuneAdmin, 3, None);
        assert_eq!(decide(&commune, Action::ApproveYearPlan, &Target::person(70, vec![3, 2, 1])), Allow);
        assert_eq!(decide(&commune, Action::EvaluateStandard, &own), Allow);
        assert_eq!(decide(&commune, Action::ApproveYearPlan, &mine), Forbidden, "the school decides teachers' plans");
        // Results follow the approver: a vice-principal's plan (approved by the commune office)
        // is scored by the commune, not by the school's principal.
        let vice = Target::person(71, vec![3, 2, 1]);
        assert_eq!(decide(&commune, Action::EnterResults, &vice), Allow);
        assert_eq!(decide(&principal_5, Action::EnterResults, &vice), NotFound);
        // Lecturers, operators and core teachers see nobody's yearly records.
        for p in [principal(Role::KeyLecturer, 9, None), principal(Role::LmsOperator, 2, None)] {
            assert_eq!(decide(&p, Action::ViewYearly, &mine), NotFound, "{p:?}");
            assert_eq!(decide(&p, Action::EnterResults, &mine), NotFound, "{p:?}");
        }
        let core = principal(Role::CoreTeacher, 5, Some(11));
        assert_eq!(decide(&core, Action::EnterResults, &mine), NotFound);
        // Policies per year: the province's admins.
        assert_eq!(
            decide(&principal(Role::ProvinceAdmin, 2, None), Action::ConfigureYearly, &Target::unit(vec![2, 1])),
            Allow
        );
        assert_eq!(decide(&principal_5, Action::ConfigureYearly, &Target::unit(vec![2, 1])), Forbidden);
        // The classified list goes up from the school's own admin; the office sends its summary.
        assert_eq!(decide(&principal_5, Action::SendYearlyReport, &Target::unit(SCHOOL5.to_vec())), Allow);
        assert_eq!(decide(&commune, Action::SendYearlyReport, &Target::unit(SCHOOL5.to_vec())), Forbidden);
        assert_eq!(decide(&commune, Action::SendYearlyReport, &Target::unit(vec![3, 2, 1])), Allow);
        assert_eq!(decide(&principal_5, Action::SendYearlyReport, &Target::unit(vec![3, 2, 1])), Forbidden);
        assert_eq!(decide(&teacher, Action::SendYearlyReport, &Target::unit(SCHOOL5.to_vec())), Forbidden);
    }

    #[test]
    fn professional_activity_sessions() {
        // A session of cluster 4 (school 5 below it); its facilitator is person 7.
        let cluster = |r| Target::class(vec![4, 3, 2, 1], r);
        let school = |r| Target::class(SCHOOL5.to_vec(), r);
        let manage = Action::ManageSessions;
        // Admins over the unit schedule; a school's admin only its own school's sessions.
        for p in [
            principal(Role::MinistryAdmin, 1, None),
            principal(Role::ProvinceAdmin, 2, None),
            principal(Role::CommuneAdmin, 3, None),
        ] {
            assert_eq!(decide(&p, manage, &cluster(Relation::None)), Allow, "{p:?}");
            assert_eq!(decide(&p, Action::TakeAttendance, &cluster(Relation::None)), Allow, "{p:?}");
            assert_eq!(decide(&p, Action::ViewSession, &cluster(Relation::None)), Allow, "{p:?}");
        }
        let head = principal(Role::SchoolAdmin, 5, Some(70));
        assert_eq!(decide(&head, manage, &school(Relation::None)), Allow);
        assert_eq!(decide(&head, Action::TakeAttendance, &school(Relation::None)), Allow);
        assert_eq!(decide(&head, manage, &cluster(Relation::None)), Forbidden);
        assert_eq!(decide(&head, Action::TakeAttendance, &cluster(Relation::None)), Forbidden);
        // The facilitator takes attendance and sees the session but does not schedule.
        let core = principal(Role::CoreTeacher, 5, Some(7));
        assert_eq!(decide(&core, Action::TakeAttendance, &cluster(Relation::Staff)), Allow);
        assert_eq!(decide(&core, Action::ViewSession, &cluster(Relation::Staff)), Allow);
        assert_eq!(decide(&core, manage, &cluster(Relation::Staff)), Forbidden);
        // Another core teacher of the same school is not the facilitator.
        assert_eq!(decide(&core, Action::TakeAttendance, &cluster(Relation::None)), Forbidden);
        assert_eq!(decide(&core, Action::ViewSession, &cluster(Relation::None)), Forbidden);
        // Key lecturers covering the province see, do not take attendance.
        let lecturer = principal(Role::KeyLecturer, 9, Some(3));
        assert_eq!(decide(&lecturer, Action::ViewSession, &cluster(Relation::None)), Allow);
        assert_eq!(decide(&lecturer, Action::TakeAttendance, &cluster(Relation::None)), Forbidden);
        assert_eq!(decide(&lecturer, manage, &cluster(Relation::None)), Forbidden);
        // Operators neither.
        let op = principal(Role::LmsOperator, 2, None);
        for a in [manage, Action::ViewSession, Action::TakeAttendance] {
            assert_eq!(decide(&op, a, &cluster(Relation::None)), Forbidden, "{a:?}");
        }
        // Checking in: only oneself, only when enrolled within the unit.
        let me = |r| Target { units: vec![4, 3, 2, 1], person_id: Some(8), relation: r };
        assert_eq!(decide(&learner(8), Action::CheckIn, &me(Relation::Learner)), Allow);
        assert_eq!(decide(&learner(8), Action::CheckIn, &me(Relation::None)), Forbidden);
        assert_eq!(decide(&learner(9), Action::CheckIn, &me(Relation::Learner)), Forbidden);
        assert_eq!(decide(&learner(8), Action::TakeAttendance, &me(Relation::Learner)), Forbidden);
        assert_eq!(decide(&learner(8), Action::ViewSession, &me(Relation::Learner)), Forbidden);
        // An admin is not checked in by their grant.
        assert_eq!(
            decide(&principal(Role::MinistryAdmin, 1, Some(8)), Action::CheckIn, &me(Relation::None)),
            Forbidden
        );
    }
}
