/**
 * Known API removals and renames per Odoo series, as data: the upgrade advisor scans custom addons
 * for each rule whose version is above the current series and at most the target one. Extend the
 * table by adding entries; `pattern` is a JavaScript regular expression applied line by line to the
 * files matching `files` (a file-name glob: `*.py`, `*.xml`). Pure.
 */

export interface RemovedApi {
  /** The series in which the API was removed or renamed. */
  readonly version: string;
  readonly id: string;
  readonly pattern: RegExp;
  readonly files: '*.py' | '*.xml' | '*.js';
  readonly message: string;
  readonly replacement: string;
}

export const REMOVED_APIS: readonly RemovedApi[] = [
  // 16.0
  {version: '16.0', id: 'fields-view-get', pattern: /\bfields_view_get\s*\(/, files: '*.py',
    message: '`fields_view_get` was removed', replacement: '`get_views` / `_get_view`'},
  {version: '16.0', id: 'search-count-limit', pattern: /\bsearch\([^)]*\bcount\s*=\s*True/, files: '*.py',
    message: '`search(..., count=True)` was removed', replacement: '`search_count(domain)`'},
  // 17.0
  {version: '17.0', id: 'name-get-deprecated', pattern: /\bdef\s+name_get\s*\(|\.name_get\s*\(/, files: '*.py',
    message: '`name_get` is deprecated (no longer used for display names)', replacement: '`_compute_display_name` (compute `display_name`)'},
  {version: '17.0', id: 'xml-attrs', pattern: /\sattrs\s*=\s*["']/, files: '*.xml',
    message: '`attrs=` in views was removed', replacement: 'the `invisible` / `readonly` / `required` attributes with Python expressions'},
  {version: '17.0', id: 'xml-states', pattern: /<field\b[^>]*\sstates\s*=\s*["']|<button\b[^>]*\sstates\s*=\s*["']/, files: '*.xml',
    message: '`states=` in views was removed', replacement: '`invisible="state not in (...)"`'},
  {version: '17.0', id: 'name-search', pattern: /\bdef\s+_name_search\s*\(/, files: '*.py',
    message: '`_name_search` changed its signature (it returns a domain query, `name_get` is gone)', replacement: '`_name_search(self, name, domain=None, operator="ilike", limit=None, order=None)`'},
  {version: '17.0', id: 'read-group-lazy', pattern: /\bread_group\s*\([^)]*\blazy\s*=/, files: '*.py',
    message: '`read_group(..., lazy=...)` is superseded', replacement: '`_read_group(domain, groupby, aggregates)`'},
  // 18.0
  {version: '18.0', id: 'tree-view', pattern: /<tree\b|view_mode["']?\s*[:=]\s*["'][^"']*\btree\b/, files: '*.xml',
    message: '`<tree>` views were renamed', replacement: '`<list>` (and view_mode `list`)'},
  {version: '18.0', id: 'name-get-removed', pattern: /\bdef\s+name_get\s*\(|\.name_get\s*\(/, files: '*.py',
    message: '`name_get` was removed', replacement: '`_compute_display_name` (compute `display_name`)'},
  {version: '18.0', id: 'group-operator', pattern: /\bgroup_operator\s*=/, files: '*.py',
    message: 'the field attribute `group_operator` was renamed', replacement: '`aggregator`'},
  {version: '18.0', id: 'check-recursion', pattern: /\b_check_recursion\s*\(/, files: '*.py',
    message: '`_check_recursion` was removed', replacement: '`_has_cycle`'},
  {version: '18.0', id: 'user-has-groups', pattern: /\buser_has_groups\s*\(/, files: '*.py',
    message: '`user_has_groups` was removed', replacement: '`self.env.user.has_group(...)`'},
  {version: '18.0', id: 'tree-view-mode-py', pattern: /["']view_mode["']\s*:\s*["'][^"']*\btree\b/, files: '*.py',
    message: 'view_mode `tree` was renamed', replacement: '`list`'},
];
