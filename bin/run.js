#!/usr/bin/env node
import {enableCompileCache} from 'node:module'
import {execute} from '@oclif/core'

// Node caches compiled code between runs (start-up is most of a short command's time).
enableCompileCache?.()
await execute({dir: import.meta.url})
