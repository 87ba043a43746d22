#!/usr/bin/env node
// Entry of the `tsgrpc` command.
import { main } from "../dist/esm/main.js";

process.exitCode = await main(process.argv.slice(2));
