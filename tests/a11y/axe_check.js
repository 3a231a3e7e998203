#!/usr/bin/env node
// Accessibility check of report pages: opens each HTML file given on the command line in the
// system's headless Chromium (driven by playwright-core, no browser download), injects axe-core and
// prints one JSON array on stdout: [{file, title, lang, violations: [{id, impact, help, helpUrl,
// tags, nodes: [{target, html, summary}]}]}]. Rules: WCAG 2.0/2.1 A and AA and axe's best practices.
// With --print, each result also has `print`: the page laid out for print at the width of an A4
// page's text (180 mm: 210 mm less the stylesheet's two 15 mm margins), the tables wider than that
// (`overflowing`, which paper would cut) and the elements that would print a scrollbar
// (`scrolling`), then printed to PDF as Chromium does (`pages`, `mediaBox` in points).
// Usage: node axe_check.js [--chromium /usr/bin/chromium] [--print] FILE.html...
// Exit status: 0 when the pages were checked (whatever they contain), 2 on bad usage or a browser
// that cannot start (the message on stderr).
"use strict";

const path = require("path");
const { chromium } = require("playwright-core");

const AXE_SOURCE = require.resolve("axe-core/axe.min.js");
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

// 180 mm in CSS pixels (96 per inch).
const A4_TEXT_WIDTH_PX = Math.floor((180 / 25.4) * 96);

function parseArgs(argv) {
  let executable = process.env.CHROMIUM || "/usr/bin/chromium";
  let print = false;
  const files = [];
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--chromium") {
      executable = argv[i + 1];
      i += 1;
    } else if (argv[i] === "--print") {
      print = true;
    } else {
      files.push(path.resolve(argv[i]));
    }
  }
  return { executable, print, files };
}

async function printLayout(page) {
  await page.setViewportSize({ width: A4_TEXT_WIDTH_PX, height: 1100 });
  await page.emulateMedia({ media: "print" });
  const layout = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const label = (el) => {
      const caption = el.caption ? el.caption.textContent : "";
      const first = el.querySelector("th, td");
      return (caption || (first ? first.textContent : "") || el.className || el.tagName).trim().slice(0, 80);
    };
    const overflowing = [];
    for (const table of document.querySelectorAll("table")) {
      const box = table.getBoundingClientRect();
      if (box.width > 0 && (box.right > width + 1 || box.left < -1)) {
        overflowing.push({ table: label(table), right: Math.round(box.right), width });
      }
    }
    const scrolling = [];
    for (const el of document.querySelectorAll("body *")) {
      const style = getComputedStyle(el);
      const scrolls = ["auto", "scroll"].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
      if (scrolls) {
        scrolling.push({ element: label(el), scrollWidth: el.scrollWidth, clientWidth: el.clientWidth });
      }
    }
    return { width, overflowing, scrolling };
  });
  const pdf = (await page.pdf({ preferCSSPageSize: true, printBackground: true })).toString("latin1");
  const box = pdf.match(/\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/);
  return {
    ...layout,
    pages: (pdf.match(/\/Type\s*\/Page(?![s\w])/g) || []).length,
    mediaBox: box ? [Number(box[1]), Number(box[2])] : null,
  };
}

async function check(browser, file, print) {
  const page = await browser.newPage();
  try {
    // The reports work offline: any request leaving the file system is a defect, and is refused.
    await page.route(/^(?!file:|data:)/, (route) => route.abort());
    await page.goto("file://" + file, { waitUntil: "load" });
    await page.addScriptTag({ path: AXE_SOURCE });
    const result = await page.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
      TAGS,
    );
    const printed = print ? await printLayout(page) : undefined;
    return {
      file,
      print: printed,
      title: await page.title(),
      lang: await page.evaluate(() => document.documentElement.lang),
      violations: result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        tags: v.tags,
        nodes: v.nodes.map((n) => ({
          target: n.target,
          html: n.html.slice(0, 300),
          summary: n.failureSummary,
        })),
      })),
    };
  } finally {
    await page.close();
  }
}

async function main() {
  const { executable, print, files } = parseArgs(process.argv.slice(2));
  if (files.length === 0) {
    process.stderr.write("usage: node axe_check.js [--chromium PATH] [--print] FILE.html...\n");
    return 2;
  }
  let browser;
  try {
    browser = await chromium.launch({ executablePath: executable, headless: true, args: FLAGS });
  } catch (err) {
    process.stderr.write(`cannot start Chromium (${executable}): ${err.message.split("\n")[0]}\n`);
    return 2;
  }
  try {
    const results = [];
    for (const file of files) {
      results.push(await check(browser, file, print));
    }
    process.stdout.write(JSON.stringify(results, null, 1) + "\n");
    return 0;
  } finally {
    await browser.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`axe_check: ${err.stack || err}\n`);
    process.exit(2);
  },
);
