//! What a core component may import, and what `plugin inspect` reports.
//!
//! The core is granted nothing: no WASI, no host function. The only imports
//! tolerated are instances of this project's own package (`vudatasim:k6/…`)
//! that hold types and nothing else — wit-component emits those when an
//! exported interface `use`s a types-only interface.

use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use super::SandboxError;

/// The package prefix of type-only imports that are tolerated.
pub const OWN_PACKAGE_PREFIX: &str = "vudatasim:k6/";

/// Facts about a loaded component, as `plugin inspect` prints them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentInfo {
    /// Where it was loaded from.
    pub origin: String,
    /// sha256 of the component bytes, lowercase hex.
    pub sha256: String,
    /// The WIT package of its exports (`vudatasim:k6@0.2.0`).
    pub package: Option<String>,
    /// Every import, each with what it holds.
    pub imports: Vec<String>,
    /// Imports that are instances of our own package holding only types.
    pub type_only_imports: Vec<String>,
    /// Every export, with the functions of exported instances.
    pub exports: Vec<String>,
}

impl ComponentInfo {
    /// Reads imports and exports, refusing any import that could give the
    /// component a capability.
    pub fn read(
        engine: &Engine,
        component: &Component,
        origin: &str,
        sha256: String,
    ) -> Result<Self, SandboxError> {
        let ty = component.component_type();
        let mut imports = Vec::new();
        let mut type_only_imports = Vec::new();
        for (name, item) in ty.imports(engine) {
            let forbidden = |kind: &str| SandboxError::ForbiddenImport {
                origin: origin.to_owned(),
                import: name.to_owned(),
                kind: kind.to_owned(),
            };
            match &item.ty {
                ComponentItem::ComponentInstance(instance) => {
                    if !name.starts_with(OWN_PACKAGE_PREFIX) {
                        return Err(forbidden("an instance of a foreign package"));
                    }
                    for (member, member_item) in instance.exports(engine) {
                        if !matches!(member_item.ty, ComponentItem::Type(_)) {
                            return Err(SandboxError::ForbiddenImport {
                                origin: origin.to_owned(),
                                import: format!("{name}#{member}"),
                                kind: item_kind(&member_item.ty).to_owned(),
                            });
                        }
                    }
                    imports.push(format!("{name} (types only)"));
                    type_only_imports.push(name.to_owned());
                }
                ComponentItem::Type(_) => imports.push(format!("{name} (type)")),
                other => return Err(forbidden(item_kind(other))),
            }
        }
        let mut exports = Vec::new();
        let mut package = None;
        for (name, item) in ty.exports(engine) {
            match &item.ty {
                ComponentItem::ComponentInstance(instance) => {
                    let functions: Vec<&str> = instance
                        .exports(engine)
                        .filter(|(_, member)| matches!(member.ty, ComponentItem::ComponentFunc(_)))
                        .map(|(member, _)| member)
                        .collect();
                    exports.push(format!("{name}: {}", functions.join(", ")));
                    package.get_or_insert_with(|| package_of(name));
                }
                other => exports.push(format!("{name} ({})", item_kind(other))),
            }
        }
        Ok(Self {
            origin: origin.to_owned(),
            sha256,
            package,
            imports,
            type_only_imports,
            exports,
        })
    }
}

/// `vudatasim:k6/config@0.2.0` → `vudatasim:k6@0.2.0`.
fn package_of(interface: &str) -> String {
    let (path, version) = interface.split_once('@').unwrap_or((interface, ""));
    let package = path.split_once('/').map_or(path, |(package, _)| package);
    if version.is_empty() {
        package.to_owned()
    } else {
        format!("{package}@{version}")
    }
}

fn item_kind(item: &ComponentItem) -> &'static str {
    match item {
        ComponentItem::ComponentFunc(_) => "a function",
        ComponentItem::CoreFunc(_) => "a core function",
        ComponentItem::Module(_) => "a core module",
        ComponentItem::Component(_) => "a component",
        ComponentItem::ComponentInstance(_) => "an instance",
        ComponentItem::Type(_) => "a type",
        ComponentItem::Resource(_) => "a resource",
    }
}

#[cfg(test)]
mod tests {
    use super::package_of;

    #[test]
    fn package_is_read_from_an_interface_name() {
        assert_eq!(
            package_of("vudatasim:k6/config@0.2.0"),
            "vudatasim:k6@0.2.0"
        );
        assert_eq!(package_of("vudatasim:k6/config"), "vudatasim:k6");
    }
}
