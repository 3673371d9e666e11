//! The config as the operator changes it, the catalogue it is checked
//! against, and the `k6_all.sh` it renders to.

use std::sync::Arc;

use super::catalogue::Catalogue;
use super::config_store::CurrentConfig;
use super::{ControlError, Service, invalid};
use crate::contract::{CatalogueEntry, Config, PlanContext, PlanTarget, Policy, RenderError};
use crate::hub::Hub;
use crate::k6::K6Binary;
use crate::model::{ScriptInfo, TestInfo};
use crate::persistence::{DataDir, PersistError};
use crate::sandbox::SharedCore;

/// What config work needs: the same whether the service exists yet (the
/// config is loaded before it is built) or not.
pub(super) struct ConfigParts<'a> {
    pub(super) core: &'a SharedCore,
    pub(super) catalogue: &'a Catalogue,
    pub(super) data: &'a DataDir,
    pub(super) policy: &'a Policy,
    pub(super) hub: &'a Hub,
    pub(super) k6: Option<K6Binary>,
}

impl ConfigParts<'_> {
    /// The catalogue, with what k6 said about each script.
    pub(super) async fn catalogue(&self) -> Result<Vec<CatalogueEntry>, ControlError> {
        Ok(self.catalogue.entries(self.core, self.k6.as_ref()).await?)
    }

    /// The defaults for the current catalogue; scripts the policy leaves
    /// out are said in the log and the status, not dropped silently.
    pub(super) async fn defaults(&self) -> Result<Config, ControlError> {
        let catalogue = self.catalogue().await?;
        let policy = self.policy.clone();
        let defaults = self
            .core
            .call("config.default-config", move |c| {
                c.default_config(&catalogue, &policy)
            })
            .await?;
        if !defaults.left_out.is_empty() {
            let message = format!(
                "the default config enables the first {} runnable scripts the policy allows; \
                 {} more are left out: {}",
                defaults.config.enabled_scripts.len(),
                defaults.left_out.len(),
                defaults.left_out.join(", ")
            );
            tracing::warn!("{message}");
            self.hub.update_status(|s| s.last_error = Some(message));
        }
        Ok(defaults.config)
    }

    /// `config` with its canonical JSON, written to `config.json` first
    /// when `persist` (so a failed write changes nothing).
    pub(super) async fn canonical(
        &self,
        config: Config,
        persist: bool,
    ) -> Result<CurrentConfig, ControlError> {
        let for_json = config.clone();
        let json = self
            .core
            .call("config.to-json", move |c| c.to_json(&for_json))
            .await?;
        if persist {
            let (data, text) = (self.data.clone(), json.clone());
            tokio::task::spawn_blocking(move || data.write_config(&text))
                .await
                .map_err(|e| {
                    ControlError::Storage(PersistError::Io {
                        action: "writing",
                        path: "config.json".into(),
                        source: std::io::Error::other(e),
                    })
                })??;
        }
        Ok(CurrentConfig::new(config, json))
    }

    /// `config.json`, or the defaults if there is none. A stored config
    /// that is unreadable or no longer valid (a script was removed, the
    /// policy was tightened) is set aside and reported, never overwritten.
    pub(super) async fn load(&self) -> Result<CurrentConfig, ControlError> {
        let data = self.data.clone();
        let stored = match tokio::task::spawn_blocking(move || data.read_config())
            .await
            .unwrap_or_else(|e| {
                Err(PersistError::Io {
                    action: "reading",
                    path: "config.json".into(),
                    source: std::io::Error::other(e),
                })
            }) {
            Ok(stored) => stored,
            Err(PersistError::Corrupt { reason, .. }) => {
                self.set_aside(&reason);
                None
            }
            Err(error) => return Err(error.into()),
        };
        if let Some(raw) = stored {
            let catalogue = self.catalogue().await?;
            let policy = self.policy.clone();
            let checked = self
                .core
                .call("config.validate", move |c| {
                    c.validate(&raw, &policy, &catalogue)
                })
                .await?;
            match checked {
                Ok(config) => return self.canonical(config, false).await,
                Err(errors) => {
                    let reasons: Vec<String> = errors
                        .into_iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect();
                    self.set_aside(&reasons.join("; "));
                }
            }
        }
        let config = self.defaults().await?;
        self.canonical(config, false).await
    }

    fn set_aside(&self, reason: &str) {
        let message = match self.data.set_config_aside() {
            Ok(kept) => format!(
                "the stored config was not usable ({reason}); it was kept as {} and the defaults are in use",
                kept.display()
            ),
            Err(error) => format!(
                "the stored config was not usable ({reason}) and could not be set aside: {error}"
            ),
        };
        tracing::error!("{message}");
        self.hub.update_status(|s| s.last_error = Some(message));
    }
}

/// Where `GET /script` puts the results of a `k6_all.sh` run by hand:
/// below the folder it is started from.
const SHELL_RESULTS_DIR: &str = "k6-results";

impl Service {
    /// The current config's canonical JSON.
    pub fn config_json(&self) -> Arc<str> {
        self.config.get().json.clone()
    }

    /// The current config's canonical JSON, parsed.
    pub fn config_value(&self) -> Arc<serde_json::Value> {
        self.config.get().value.clone()
    }

    /// The current config.
    pub fn config(&self) -> Config {
        self.config.get().config.clone()
    }

    /// The parts config work uses.
    fn parts(&self) -> ConfigParts<'_> {
        ConfigParts {
            core: &self.core,
            catalogue: &self.catalogue,
            data: &self.data,
            policy: &self.policy,
            hub: &self.hub,
            k6: self.k6_if_usable(),
        }
    }

    /// Validates `raw` and, if valid, stores it as the config. Nothing is
    /// written when it is invalid or when storing fails.
    pub async fn put_config(&self, raw: String) -> Result<Arc<str>, ControlError> {
        let catalogue = self.catalogue().await?;
        let policy = self.policy.clone();
        let checked = self
            .core
            .call("config.validate", move |c| {
                c.validate(&raw, &policy, &catalogue)
            })
            .await?;
        let config = checked.map_err(|errors| invalid("the config is invalid", errors))?;
        self.store(config).await
    }

    /// Replaces the config with the defaults for the current catalogue.
    pub async fn reset_config(&self) -> Result<Arc<str>, ControlError> {
        let config = self.parts().defaults().await?;
        self.store(config).await
    }

    /// Writes `config` and makes it the current one; every open page is
    /// told.
    async fn store(&self, config: Config) -> Result<Arc<str>, ControlError> {
        let current = self.config.set(self.parts().canonical(config, true).await?);
        self.hub.publish_config((*current.value).clone());
        Ok(current.json.clone())
    }

    /// The scripts the operator's directories offer, as the core accepts
    /// them, with what k6 said about each.
    pub async fn catalogue(&self) -> Result<Vec<CatalogueEntry>, ControlError> {
        self.parts().catalogue().await
    }

    /// The catalogue for `GET /scripts`.
    pub async fn scripts(&self) -> Result<Vec<ScriptInfo>, ControlError> {
        let entries = self.catalogue().await?;
        let infos = tokio::task::spawn_blocking(move || {
            entries
                .into_iter()
                .map(|entry| ScriptInfo {
                    size_bytes: std::fs::metadata(&entry.path).map(|m| m.len()).unwrap_or(0),
                    kind: entry.kind.into(),
                    runnable: entry
                        .test
                        .as_ref()
                        .is_none_or(|facts| facts.global_load.is_ok()),
                    test: entry.test.as_ref().map(TestInfo::from),
                    name: entry.name,
                })
                .collect()
        })
        .await
        .unwrap_or_default();
        Ok(infos)
    }

    /// The `k6_all.sh` the current config would run by hand: the scripts
    /// where they are, each k6 step's files below `k6-results/`.
    pub async fn render_script(&self) -> Result<String, ControlError> {
        let catalogue = self.catalogue().await?;
        let config = self.config();
        let context = PlanContext {
            run_dir: SHELL_RESULTS_DIR.to_owned(),
            api_ports: Vec::new(),
            target: PlanTarget::ShellScript,
        };
        let template = self.template.clone();
        let rendered = self
            .core
            .call("plan.render", move |c| {
                Ok(match c.build_plan(&config, &catalogue, &context)? {
                    Ok(plan) => Ok(c.render(&plan, template.as_deref())?),
                    Err(errors) => Err(errors),
                })
            })
            .await?;
        match rendered {
            Ok(Ok(script)) => Ok(script),
            Ok(Err(RenderError::TemplateSyntax(reason) | RenderError::TemplateRender(reason))) => {
                Err(ControlError::Template(reason))
            }
            Err(errors) => Err(invalid("the current config cannot be planned", errors)),
        }
    }
}
