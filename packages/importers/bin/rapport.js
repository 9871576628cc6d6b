#!/usr/bin/env node
// The command points here rather than at dist/cli.js so that installing the workspace can link it
// before anything is built.
import "../dist/cli.js"
