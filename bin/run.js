#!/usr/bin/env node
import * as nodeModule from 'node:module'
import {execute} from '@oclif/core'

// Node (22.1+) caches compiled code between runs: start-up is most of a short command's time.
nodeModule.enableCompileCache?.()
await execute({dir: import.meta.url})
