// Shared by the browser tests, the screenshot and the open-time benchmark:
// start `castbook studio` in a scratch folder, and Debian's Chromium.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

export const root = path.resolve(import.meta.dirname, "../..");

/** The castbook binary scripts/test built (it asks cargo where it is). */
export function castbook() {
  const bin = process.env.CASTBOOK_BIN;
  if (!bin || !fs.existsSync(bin)) {
    throw new Error("CASTBOOK_BIN does not name the castbook binary: run these tests with scripts/test (or scripts/test-browser)");
  }
  return bin;
}

/** A scratch folder holding `files` ({name: contents or {copy: path}}). */
export function scratch(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castbook-studio-"));
  for (const [name, contents] of Object.entries(files)) {
    const target = path.join(dir, name);
    if (contents && contents.copy) fs.copyFileSync(contents.copy, target);
    else fs.writeFileSync(target, contents);
  }
  return dir;
}

/** Starts `castbook studio ARGS` in `dir`; resolves once it prints its address. */
export function startStudio(dir, args) {
  const child = spawn(castbook(), ["studio", ...args, "--port", "0"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (data) => { stderr += data; });
  const started = new Promise((resolve, reject) => {
    let stdout = "";
    child.stdout.on("data", (data) => {
      stdout += data;
      const found = stdout.match(/http:\/\/\S+\//);
      if (found) resolve({ url: found[0], child, stderr: () => stderr });
    });
    child.on("exit", (code) => reject(new Error(`castbook studio exited (${code}): ${stderr}`)));
    setTimeout(() => reject(new Error(`castbook studio printed no address in 60 s: ${stderr}`)), 60_000);
  });
  return started;
}

/** Debian's Chromium (CHROMIUM overrides the path), headless, with the flags this machine needs. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}
