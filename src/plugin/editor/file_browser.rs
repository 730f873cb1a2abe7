//! A small file browser drawn inside the editor, for "Load model…", "Load clip…" and "Save
//! .mid…". A native
//! dialog would need GTK or a desktop portal inside someone else's process; this needs neither.
//! Editor thread.

use std::path::{Path, PathBuf};

use egui::Ui;

/// What the browser is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Pick an existing `.onnx` file.
    LoadModel,
    /// Choose a folder and a file name for a `.mid` file.
    SaveMidi,
    /// Pick an existing `.mid` file as the clip.
    LoadClip,
}

/// The browser's state while it is open.
#[derive(Debug)]
pub struct FileBrowser {
    pub purpose: Purpose,
    /// Folder shown.
    pub dir: PathBuf,
    /// File name typed or picked.
    pub name: String,
    /// Why the folder could not be listed.
    error: Option<String>,
}

/// What the user did this frame.
pub enum Outcome {
    Pending,
    Cancelled,
    Chosen(PathBuf),
}

impl FileBrowser {
    pub fn new(purpose: Purpose, dir: PathBuf, name: String) -> FileBrowser {
        FileBrowser { purpose, dir, name, error: None }
    }

    fn entries(&mut self) -> (Vec<String>, Vec<String>) {
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        match std::fs::read_dir(&self.dir) {
            Ok(entries) => {
                self.error = None;
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') {
                        continue;
                    }
                    if e.path().is_dir() {
                        dirs.push(name);
                    } else if has_extension(&e.path(), self.extension()) {
                        files.push(name);
                    }
                }
            }
            Err(e) => self.error = Some(format!("{}: {e}", self.dir.display())),
        }
        dirs.sort();
        files.sort();
        (dirs, files)
    }

    fn extension(&self) -> &'static str {
        match self.purpose {
            Purpose::LoadModel => "onnx",
            Purpose::SaveMidi | Purpose::LoadClip => "mid",
        }
    }

    /// Draws the browser.
    pub fn show(&mut self, ui: &mut Ui) -> Outcome {
        let title = match self.purpose {
            Purpose::LoadModel => "Load a model (.onnx)",
            Purpose::SaveMidi => "Save the melody as a .mid file",
            Purpose::LoadClip => "Load a clip (.mid: its first 4 bars, its top line)",
        };
        ui.heading(title);
        let mut dir_text = self.dir.display().to_string();
        ui.horizontal(|ui| {
            if ui.button("⬆ Up").clicked() {
                if let Some(parent) = self.dir.parent() {
                    self.dir = parent.to_path_buf();
                }
            }
            ui.label("Folder:");
            if ui.text_edit_singleline(&mut dir_text).lost_focus() {
                self.dir = PathBuf::from(&dir_text);
            }
        });
        let (dirs, files) = self.entries();
        if let Some(e) = &self.error {
            ui.colored_label(egui::Color32::from_rgb(240, 110, 100), e);
        }
        let mut outcome = Outcome::Pending;
        egui::ScrollArea::vertical().max_height(220.0).auto_shrink([false, true]).show(ui, |ui| {
            for d in &dirs {
                if ui.selectable_label(false, format!("📁 {d}")).clicked() {
                    self.dir = self.dir.join(d);
                }
            }
            for f in &files {
                let picked = ui.selectable_label(self.name == *f, f.as_str());
                if picked.clicked() {
                    self.name = f.clone();
                }
                if picked.double_clicked() {
                    outcome = Outcome::Chosen(self.dir.join(f));
                }
            }
        });
        ui.horizontal(|ui| {
            ui.label("File:");
            ui.text_edit_singleline(&mut self.name);
            let action = match self.purpose {
                Purpose::LoadModel | Purpose::LoadClip => "Load",
                Purpose::SaveMidi => "Save",
            };
            if ui.button(action).clicked() && !self.name.trim().is_empty() {
                let mut path = self.dir.join(self.name.trim());
                if !has_extension(&path, self.extension()) {
                    path.set_extension(self.extension());
                }
                outcome = Outcome::Chosen(path);
            }
            if ui.button("Cancel").clicked() {
                outcome = Outcome::Cancelled;
            }
        });
        outcome
    }
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case(extension))
}
