#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/ into dist/ by `npm install` (the `prepare` script).
import { main } from "../dist/main.js";

process.exitCode = await main(process.argv.slice(2));
