//! Processes deployed as Kubernetes resources: the `ProcessDefinition`
//! custom resource ([`resource`]) and the controller that deploys them and
//! reports back in their status ([`controller`]).

pub mod controller;
pub mod resource;

pub use controller::{
    DefinitionHandle, DefinitionOptions, DefinitionService, DeployOutcome, Deployer,
};
pub use resource::{ProcessDefinition, ProcessDefinitionSpec, ProcessDefinitionStatus};
