import {describe, expect, it} from 'vitest';
import {LOCAL_STATE_DATABASE, stateLocation} from '../../../src/core/state/state-location.js';

describe('state location of docker-local', () => {
  it('is the project Postgres container unless state.url is set', () => {
    expect(stateLocation({projectRoot: '/p', state: {}, provider: {name: 'docker-local'}})).toEqual({
      kind: 'provider-postgres', provider: 'docker-local', database: LOCAL_STATE_DATABASE,
    });
    expect(stateLocation({projectRoot: '/p', state: {url: 'postgres://h/db'}, provider: {name: 'docker-local'}})).toEqual({kind: 'url', url: 'postgres://h/db'});
  });
});
