/// The OpenAPI document of the dashboard's API, served at `/api/v1/openapi.json`; a test checks that it names
/// every route the server answers, and only those.
enum OpenAPIDocument {
    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Conduit dashboard API",
    "version": "1",
    "description": "The coordinators' read-only view of a Conduit hub: the live aggregate state, the supervision ledger, history from the journal, and the live stream of events. Errors are application/problem+json; their type is /api/v1/problems#<kind> (bad-parameter, not-found, outside-journal, no-journal, unavailable, unauthorised, not-ready, method-not-allowed)."
  },
  "paths": {
    "/api/v1/overview": {
      "get": {
        "summary": "The overview's figures",
        "description": "Progress per community and utility against plan, days to the deadline, households without service now, open outages, open ledger entries, agents online and silent, of the live state.",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/state": {
      "get": {
        "summary": "The aggregate state",
        "description": "The live state, or with at or seq the state at that moment of the journal; with path only a subtree (communities/<id>, workitems/<id>, outages, alerts, ledger, summary).",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "416": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "501": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "503": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          }
        },
        "parameters": [
          {
            "name": "at",
            "in": "query",
            "description": "A recorded time (RFC 3339) or a date (the start of that day in the plan's time zone).",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "seq",
            "in": "query",
            "description": "A sequence: the state after that event.",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1
            }
          },
          {
            "name": "path",
            "in": "query",
            "description": "A subtree of the state.",
            "required": false,
            "schema": {
              "type": "string"
            }
          }
        ]
      }
    },
    "/api/v1/diff": {
      "get": {
        "summary": "What changed between two moments",
        "description": "Between two recorded times (from, to) or two sequences (fromSeq, toSeq): work items that moved, outages opened and closed, alerts raised and cleared, roll-ups.",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "416": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "501": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "503": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          }
        },
        "parameters": [
          {
            "name": "from",
            "in": "query",
            "description": "The earlier time.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "to",
            "in": "query",
            "description": "The later time.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "fromSeq",
            "in": "query",
            "description": "The earlier sequence.",
            "required": false,
            "schema": {
              "type": "integer"
            }
          },
          {
            "name": "toSeq",
            "in": "query",
            "description": "The later sequence.",
            "required": false,
            "schema": {
              "type": "integer"
            }
          }
        ]
      }
    },
    "/api/v1/ledger": {
      "get": {
        "summary": "The supervision ledger (督查台账)",
        "description": "The ledger's entries, filtered; each list parameter is comma-separated. format=csv answers CSV in UTF-8 with a byte order mark, which Excel opens with its Chinese text intact.",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "501": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "503": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          }
        },
        "parameters": [
          {
            "name": "status",
            "in": "query",
            "description": "open (default), closed or all.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "class",
            "in": "query",
            "description": "condition, violation.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "kind",
            "in": "query",
            "description": "Alert kinds.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "organisation",
            "in": "query",
            "description": "Responsible organisations.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "community",
            "in": "query",
            "description": "Communities.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "format",
            "in": "query",
            "description": "json (default) or csv.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "at",
            "in": "query",
            "description": "A recorded time (RFC 3339) or a date (the start of that day in the plan's time zone).",
            "required": false,
            "schema": {
              "type": "string"
            }
          }
        ]
      }
    },
    "/api/v1/incident": {
      "get": {
        "summary": "An incident report",
        "description": "Everything that touched one work item or outage: its reports, the outages a work item caused, the alerts, who published each step, and the durations.",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "501": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "503": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          }
        },
        "parameters": [
          {
            "name": "subject",
            "in": "query",
            "description": "A work item id, an outage key (site/service/reference) or an outage's reference.",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ]
      }
    },
    "/api/v1/events": {
      "get": {
        "summary": "A window of the journal",
        "description": "Stored events as JSON lines, one per line: {\"sequence\", \"recordedTime\", \"event\"}.",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/x-ndjson": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "416": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "501": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "503": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          }
        },
        "parameters": [
          {
            "name": "fromSeq",
            "in": "query",
            "description": "First sequence.",
            "required": false,
            "schema": {
              "type": "integer"
            }
          },
          {
            "name": "toSeq",
            "in": "query",
            "description": "Last sequence.",
            "required": false,
            "schema": {
              "type": "integer"
            }
          },
          {
            "name": "since",
            "in": "query",
            "description": "Recorded at or after.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "until",
            "in": "query",
            "description": "Recorded before.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "kind",
            "in": "query",
            "description": "Event kinds.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "community",
            "in": "query",
            "description": "Communities.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "organisation",
            "in": "query",
            "description": "Publishing organisations.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "workItem",
            "in": "query",
            "description": "Work items.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "limit",
            "in": "query",
            "description": "At most this many (default 10000).",
            "required": false,
            "schema": {
              "type": "integer"
            }
          }
        ]
      }
    },
    "/api/v1/plan": {
      "get": {
        "summary": "The plan in force",
        "description": "The hub's plan (conduit-plan/1).",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/span": {
      "get": {
        "summary": "The journal's span",
        "description": "First and last sequence and recorded time of the journal, and the state's time, for the time slider.",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "501": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "503": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/stream": {
      "get": {
        "summary": "The live stream of events",
        "description": "Server-Sent Events: each event as the dashboard applies it, id its sequence, event conduit, data {\"sequence\", \"recordedTime\", \"event\"}. Reconnecting with Last-Event-ID (or ?after=) resumes after that sequence without loss.",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "text/event-stream": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          }
        },
        "parameters": [
          {
            "name": "Last-Event-ID",
            "in": "header",
            "description": "The last sequence received.",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "after",
            "in": "query",
            "description": "The same, for clients that cannot set headers.",
            "required": false,
            "schema": {
              "type": "string"
            }
          }
        ]
      }
    },
    "/api/v1/openapi.json": {
      "get": {
        "summary": "This document",
        "description": "The OpenAPI document of this API.",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
    "/healthz": {
      "get": {
        "summary": "Alive",
        "description": "200 while the process serves.",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
    "/readyz": {
      "get": {
        "summary": "Ready",
        "description": "200 once the live state has caught up with the broker; 503 with the reason until then.",
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "503": {
            "description": "A problem (RFC 9457)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          }
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Problem": {
        "type": "object",
        "required": [
          "type",
          "title",
          "status",
          "detail"
        ],
        "properties": {
          "type": {
            "type": "string"
          },
          "title": {
            "type": "string"
          },
          "status": {
            "type": "integer"
          },
          "detail": {
            "type": "string"
          }
        }
      }
    },
    "securitySchemes": {
      "token": {
        "type": "http",
        "scheme": "bearer",
        "description": "Only when the dashboard is started with --tokens: a coordinator's token."
      }
    }
  }
}
"""#
}
