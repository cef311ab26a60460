//! The compiled, index-based process graph the engine executes.
//!
//! CONTRACT between `model` (which builds it) and `engine` (which runs it).
//! Everything is addressed by dense indexes ([`NodeIdx`], [`FlowIdx`],
//! [`ScopeIdx`]) into the arrays of a [`ProcessGraph`], so the hot path needs no
//! string lookups. Element ids and names are kept for history and display.

use crate::extensions::{ProcessExtensions, TaskExtensions};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use windlass_expr::{Expression, Template};

pub use crate::expr_spec::ExprSpec;
pub use crate::timer_spec::{IsoDuration, TimerCycle, TimerPart, TimerSpec};

/// Index of a node in [`ProcessGraph::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeIdx(pub u32);

/// Index of a sequence flow in [`ProcessGraph::flows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FlowIdx(pub u32);

/// Index of a scope in [`ProcessGraph::scopes`]; scope 0 is the process itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopeIdx(pub u32);

impl ScopeIdx {
    /// The process-level scope.
    pub const ROOT: ScopeIdx = ScopeIdx(0);
}

/// Line and column (1-based) of an element's start tag in the source XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// One executable process, compiled.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessGraph {
    /// The BPMN `id` of the `<process>`.
    pub id: String,
    /// The process name, if any.
    pub name: Option<String>,
    /// `isExecutable` as written (absent reads as true, as in Camunda).
    pub is_executable: bool,
    /// All flow nodes of the process and of every nested sub-process.
    pub nodes: Vec<Node>,
    /// All sequence flows.
    pub flows: Vec<Flow>,
    /// Scope 0 is the process; then one per (event) sub-process.
    pub scopes: Vec<Scope>,
    /// Windlass process-level extensions (instance id template, sources).
    pub extensions: ProcessExtensions,
}

/// A container of flow nodes: the process or a sub-process.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    /// The sub-process node that owns this scope; `None` for the process.
    pub owner: Option<NodeIdx>,
    /// The enclosing scope; `None` for the process.
    pub parent: Option<ScopeIdx>,
    /// Every node directly inside this scope (boundary events included).
    pub children: Vec<NodeIdx>,
    /// Where a token starts when the scope is entered: the none start events,
    /// or, when the scope has no start event (the spec's implicit start), every
    /// flow node without incoming flows (not boundary events, event
    /// sub-processes or compensation handlers).
    pub start_nodes: Vec<NodeIdx>,
    /// True when `start_nodes` came from the implicit-start rule.
    pub implicit_start: bool,
    /// Event sub-processes directly inside this scope.
    pub event_subprocesses: Vec<NodeIdx>,
}

/// A flow node.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// BPMN element id.
    pub id: String,
    /// Name as written (not whitespace-normalised).
    pub name: Option<String>,
    /// The name as a template when it contains placeholders.
    #[serde(skip)]
    pub name_template: Option<Template>,
    /// What the node is.
    pub kind: NodeKind,
    /// The scope the node sits in.
    pub scope: ScopeIdx,
    /// Incoming sequence flows.
    pub incoming: Box<[FlowIdx]>,
    /// Outgoing sequence flows.
    pub outgoing: Box<[FlowIdx]>,
    /// Boundary events attached to this node.
    pub boundary_events: Box<[NodeIdx]>,
    /// Loop or multi-instance characteristics of an activity (boxed: few
    /// nodes loop, and the spec is large).
    pub looping: Option<Box<LoopSpec>>,
    /// Input/output variable mappings of an activity or event; `None` when
    /// there are none (read through [`Node::io`]).
    #[serde(rename = "io", serialize_with = "io_or_empty")]
    pub io_mapping: Option<Box<IoMapping>>,
    /// Windlass / Zeebe task configuration of an activity; `None` when it
    /// has none (read through [`Node::task`]).
    #[serde(rename = "task", serialize_with = "task_or_empty")]
    pub task_extensions: Option<Box<TaskExtensions>>,
    /// The deduplication key of the region this node starts
    /// (`<windlass:dedup key="…"/>` on any flow node, or `dedupKey` on
    /// `windlass:task`): a token arriving here claims the key and waits
    /// until it holds it; the instance holds it until it ends.
    #[serde(
        rename = "dedup_key",
        serialize_with = "crate::extensions::boxed_template_as_written"
    )]
    pub dedup_key: Option<Box<Template>>,
    /// `<documentation>` text, joined.
    pub documentation: Option<Box<str>>,
    /// `isForCompensation="true"`: the activity runs only as the compensation
    /// handler of the activity whose compensation boundary event is
    /// associated with it, never by sequence flow.
    pub for_compensation: bool,
    /// The lane the node is in (name or id), for display only; shared by
    /// every node of the lane.
    #[serde(serialize_with = "shared_text")]
    pub lane: Option<Arc<str>>,
    /// Where the element starts in the XML.
    pub position: Position,
}

/// No mappings: what [`Node::io`] answers for a node without any.
static NO_IO: IoMapping = IoMapping {
    inputs: Vec::new(),
    outputs: Vec::new(),
};

/// No task configuration: what [`Node::task`] answers for a node without any.
static NO_TASK_EXTENSIONS: TaskExtensions = TaskExtensions::EMPTY;

impl Node {
    /// Input/output variable mappings (empty when there are none).
    pub fn io(&self) -> &IoMapping {
        self.io_mapping.as_deref().unwrap_or(&NO_IO)
    }

    /// Windlass / Zeebe task configuration (empty when there is none).
    pub fn task(&self) -> &TaskExtensions {
        self.task_extensions
            .as_deref()
            .unwrap_or(&NO_TASK_EXTENSIONS)
    }
}

/// Serializes absent mappings as empty ones (the JSON shape of `inspect`).
fn io_or_empty<S: serde::Serializer>(
    io: &Option<Box<IoMapping>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    io.as_deref().unwrap_or(&NO_IO).serialize(serializer)
}

/// Serializes absent task configuration as the empty one.
fn task_or_empty<S: serde::Serializer>(
    task: &Option<Box<TaskExtensions>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    task.as_deref()
        .unwrap_or(&NO_TASK_EXTENSIONS)
        .serialize(serializer)
}

/// Serializes a shared string as a plain one.
fn shared_text<S: serde::Serializer>(
    text: &Option<Arc<str>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    text.as_deref().serialize(serializer)
}

/// The kind of a flow node and its kind-specific data.
#[derive(Debug, Clone, Serialize)]
pub enum NodeKind {
    /// A start event.
    StartEvent {
        /// What starts it.
        trigger: EventTrigger,
        /// For start events of event sub-processes.
        interrupting: bool,
    },
    /// An end event.
    EndEvent {
        /// What it does when reached.
        result: EventResult,
    },
    /// An intermediate catch event.
    IntermediateCatch {
        /// What it waits for (message, timer, signal, link, ...).
        trigger: EventTrigger,
    },
    /// An intermediate throw event.
    IntermediateThrow {
        /// What it throws (none, message, signal, escalation, link, ...).
        result: EventResult,
    },
    /// A boundary event.
    Boundary {
        /// The activity it is attached to.
        attached_to: NodeIdx,
        /// What it catches.
        trigger: EventTrigger,
        /// `cancelActivity` (interrupting) as written; true by default.
        cancel_activity: bool,
    },
    /// A task of any type.
    Task {
        /// Which BPMN task type.
        task_type: TaskType,
        /// The script of a script task (boxed: most tasks have none).
        script: Option<Box<Script>>,
        /// The message a receive task with a `messageRef` waits for
        /// (boxed: most tasks have none). A receive task without one runs
        /// as a job like any task.
        message: Option<Box<TaskMessage>>,
    },
    /// A gateway.
    Gateway {
        /// Which gateway.
        kind: GatewayKind,
        /// The `default` flow, if any.
        default: Option<FlowIdx>,
        /// A complex gateway's `activationCondition` (boxed: rare).
        activation_condition: Option<Box<ExprSpec>>,
    },
    /// An embedded sub-process (or an event sub-process when
    /// `triggered_by_event`).
    SubProcess {
        /// The scope holding its children.
        scope: ScopeIdx,
        /// An event sub-process (`triggeredByEvent="true"`).
        triggered_by_event: bool,
        /// A transaction sub-process (`<transaction>`).
        transaction: bool,
    },
    /// A call activity.
    CallActivity {
        /// `calledElement`: the id of the process to call.
        called_element: String,
        /// Which deployed version of it.
        binding: CallBinding,
    },
}

/// Which deployed version of its called process a call activity starts
/// (`zeebe:calledElement bindingType`, `camunda:calledElementBinding` and
/// `camunda:calledElementVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CallBinding {
    /// The latest deployed version of the process id (the default).
    #[default]
    Latest,
    /// The version deployed with the caller's document.
    Deployment,
    /// This deployed version.
    Version(u32),
}

/// The BPMN task types; all run as jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TaskType {
    /// `task` (abstract).
    Task,
    /// `serviceTask`.
    Service,
    /// `scriptTask`.
    Script,
    /// `userTask`.
    User,
    /// `sendTask`.
    Send,
    /// `receiveTask`.
    Receive,
    /// `manualTask`.
    Manual,
    /// `businessRuleTask`.
    BusinessRule,
}

/// The message a receive task waits for: its `messageRef`'s name and
/// correlation key, read as for a message catch event.
#[derive(Debug, Clone, Serialize)]
pub struct TaskMessage {
    /// Message name.
    pub name: String,
    /// Correlation key expression (`windlass:correlation key` or Zeebe's
    /// `subscription correlationKey` on the message).
    pub correlation_key: Option<Box<ExprSpec>>,
    /// `instantiate="true"`: the task would start the process (refused by
    /// the engine's plan, named).
    pub instantiate: bool,
}

/// A script task's script.
#[derive(Debug, Clone, Serialize)]
pub struct Script {
    /// `scriptFormat` as written.
    pub format: Option<String>,
    /// The script text.
    pub body: String,
    /// The compiled script when its format is an expression language
    /// Windlass evaluates (its value is stored in `result_variable`).
    #[serde(skip)]
    pub compiled: Option<Expression>,
    /// Variable receiving the script's value (`windlass:script resultVariable`
    /// or Zeebe's `resultVariable`).
    pub result_variable: Option<String>,
}

/// Gateway kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum GatewayKind {
    /// Exclusive (XOR).
    Exclusive,
    /// Parallel (AND).
    Parallel,
    /// Inclusive (OR).
    Inclusive,
    /// Event-based.
    EventBased,
    /// Complex.
    Complex,
}

/// A sequence flow.
#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    /// BPMN element id.
    pub id: String,
    /// Name, if any.
    pub name: Option<Box<str>>,
    /// Source node.
    pub source: NodeIdx,
    /// Target node.
    pub target: NodeIdx,
    /// `conditionExpression`, if any.
    pub condition: Option<ExprSpec>,
    /// True when this flow is its source gateway's/activity's `default`.
    pub is_default: bool,
    /// Where the element starts in the XML.
    pub position: Position,
}

/// What a catching event waits for.
#[derive(Debug, Clone, Serialize)]
pub enum EventTrigger {
    /// No trigger (none start event).
    None,
    /// A message by name (the `message` element's `name`, or its id).
    Message {
        /// Message name.
        name: String,
        /// Correlation key expression (Zeebe `subscription correlationKey` or
        /// `windlass:correlation key`).
        correlation_key: Option<Box<ExprSpec>>,
    },
    /// A timer (boxed: the spec is large).
    Timer(Box<TimerSpec>),
    /// A signal by name.
    Signal {
        /// Signal name.
        name: String,
    },
    /// An error; `code: None` catches any error.
    Error {
        /// The referenced error's `errorCode`.
        code: Option<String>,
    },
    /// An escalation; `code: None` catches any.
    Escalation {
        /// The referenced escalation's `escalationCode`.
        code: Option<String>,
    },
    /// A link catch event by link name.
    Link {
        /// Link name.
        name: String,
    },
    /// A conditional event.
    Conditional {
        /// Its condition.
        condition: Box<ExprSpec>,
    },
    /// Compensation: a compensation boundary event (with the activity that
    /// compensates the one it is attached to, found by its association) or
    /// the compensation start event of an event sub-process.
    Compensation {
        /// The compensation handler (`isForCompensation="true"`) the boundary
        /// event is associated with; `None` for a start event.
        handler: Option<NodeIdx>,
    },
    /// A cancel boundary event of a transaction sub-process.
    Cancel,
}

/// What a throwing event does.
#[derive(Debug, Clone, Serialize)]
pub enum EventResult {
    /// Nothing (none end / none intermediate throw).
    None,
    /// Terminate the (sub-)process scope.
    Terminate,
    /// Throw an error with this code (`None` when the error has no code).
    Error {
        /// `errorCode` of the referenced error.
        code: Option<String>,
    },
    /// Throw an escalation.
    Escalation {
        /// `escalationCode`.
        code: Option<String>,
    },
    /// Send a message.
    Message {
        /// Message name.
        name: String,
        /// Correlation key expression of the referenced message, evaluated
        /// in the throwing token's scope.
        correlation_key: Option<Box<ExprSpec>>,
        /// How long the thrown message stays buffered when nothing waits
        /// for it, in milliseconds (`windlass:publish ttl`); `None`: until
        /// it is consumed.
        ttl_millis: Option<u64>,
    },
    /// Broadcast a signal.
    Signal {
        /// Signal name.
        name: String,
    },
    /// Jump to the link catch event with this name (intermediate throw only).
    Link {
        /// Link name.
        name: String,
        /// The matching catch event in the same scope (resolved at compile).
        target: Option<NodeIdx>,
    },
    /// Compensate the completed activities of the scope (the one the event
    /// is in, or the one holding its event sub-process), all of them in
    /// reverse order of completion or only `activity` (`activityRef`).
    /// Always waits for the compensation to finish (`waitForCompletion`).
    Compensation {
        /// The activity named by `activityRef` (resolved at compile).
        activity: Option<NodeIdx>,
    },
    /// Cancel the transaction sub-process the end event is in.
    Cancel,
}

/// Standard loop or multi-instance characteristics.
#[derive(Debug, Clone, Serialize)]
#[allow(clippy::large_enum_variant)] // built once per definition, not on a hot path
pub enum LoopSpec {
    /// `standardLoopCharacteristics`: a while loop.
    Standard {
        /// `loopCondition`; `None` loops until `loop_maximum`.
        condition: Option<ExprSpec>,
        /// `testBefore` (default false: evaluate after each pass).
        test_before: bool,
        /// `loopMaximum`.
        loop_maximum: Option<u64>,
    },
    /// `multiInstanceLoopCharacteristics`.
    MultiInstance(MultiInstanceSpec),
}

/// Multi-instance characteristics.
#[derive(Debug, Clone, Serialize)]
pub struct MultiInstanceSpec {
    /// `isSequential`.
    pub sequential: bool,
    /// `loopCardinality`, an expression giving a number.
    pub cardinality: Option<ExprSpec>,
    /// The input collection: `loopDataInputRef` (a variable name) or Zeebe's
    /// `inputCollection` expression.
    pub input_collection: Option<ExprSpec>,
    /// Variable each element is bound to in its scope (`inputDataItem` or
    /// Zeebe's `inputElement`).
    pub input_element: Option<String>,
    /// Collection variable gathering results (`loopDataOutputRef` / Zeebe's
    /// `outputCollection`).
    pub output_collection: Option<String>,
    /// Expression (or variable name) giving each element's result
    /// (`outputDataItem` / Zeebe's `outputElement`).
    pub output_element: Option<ExprSpec>,
    /// Variable named by `outputDataItem`: declared (null) in every element
    /// scope, so what the inner activity writes to it stays local to its
    /// element and is collected, never set in the process scope. `None`
    /// for Zeebe's `outputElement`, which is an expression.
    pub output_item: Option<String>,
    /// `completionCondition`.
    pub completion_condition: Option<ExprSpec>,
}

/// Input and output mappings of an activity or event.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IoMapping {
    /// Evaluated in the outer scope when the activity starts; each result is
    /// a local variable of the activity.
    pub inputs: Vec<VarMapping>,
    /// Evaluated in the activity's scope when it completes; each result is
    /// set in the outer scope.
    pub outputs: Vec<VarMapping>,
}

impl IoMapping {
    /// True when there is no mapping.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty() && self.outputs.is_empty()
    }

    /// Boxed for a [`Node`], `None` when empty.
    pub fn boxed(self) -> Option<Box<IoMapping>> {
        (!self.is_empty()).then(|| Box::new(self))
    }
}

/// One mapping `target = source-expression`.
#[derive(Debug, Clone, Serialize)]
pub struct VarMapping {
    /// The expression producing the value.
    pub source: ExprSpec,
    /// The variable name (may be a dotted path).
    pub target: String,
}

impl ProcessGraph {
    /// The node at `idx`.
    pub fn node(&self, idx: NodeIdx) -> &Node {
        &self.nodes[idx.0 as usize]
    }
    /// The flow at `idx`.
    pub fn flow(&self, idx: FlowIdx) -> &Flow {
        &self.flows[idx.0 as usize]
    }
    /// The scope at `idx`.
    pub fn scope(&self, idx: ScopeIdx) -> &Scope {
        &self.scopes[idx.0 as usize]
    }
    /// Looks a node up by element id (not for hot paths).
    pub fn node_by_id(&self, id: &str) -> Option<NodeIdx> {
        self.nodes
            .iter()
            .position(|n| n.id == id)
            .and_then(|i| u32::try_from(i).ok())
            .map(NodeIdx)
    }
}
