import { USER_SCHEMA } from '../scim.constants.js';
import { attribute, complexAttribute, multiValuedSubAttributes } from './attribute.util.js';
import type { AttributeDefinition, SchemaDefinition } from './schema.types.js';

/** The plain-string sub-attributes of `name` (RFC 7643 §4.1.1). */
const nameSubAttributes: AttributeDefinition[] = [
  attribute('formatted', 'string', "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III')."),
  attribute('familyName', 'string', "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given the full name 'Ms. Barbara J Jensen, III')."),
  attribute('givenName', 'string', "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given the full name 'Ms. Barbara J Jensen, III')."),
  attribute('middleName', 'string', "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III')."),
  attribute('honorificPrefix', 'string', "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given the full name 'Ms. Barbara J Jensen, III')."),
  attribute('honorificSuffix', 'string', "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given the full name 'Ms. Barbara J Jensen, III')."),
];

/** RFC 7643 §4.1.2 addresses; `primary` is described there although §8.7.1 omits it. */
const addressSubAttributes: AttributeDefinition[] = [
  attribute('formatted', 'string', 'The full mailing address, formatted for display or use with a mailing label. This attribute MAY contain newlines.'),
  attribute('streetAddress', 'string', 'The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information. This attribute MAY contain newlines.'),
  attribute('locality', 'string', 'The city or locality component.'),
  attribute('region', 'string', 'The state or region component.'),
  attribute('postalCode', 'string', 'The zip code or postal code component.'),
  attribute('country', 'string', 'The country name component, as an ISO 3166-1 alpha-2 code.'),
  attribute('type', 'string', "A label indicating the attribute's function, e.g., 'work' or 'home'.", {
    canonicalValues: ['work', 'home', 'other'],
  }),
  attribute('primary', 'boolean', "A Boolean value indicating the 'primary' or preferred address. The primary attribute value 'true' MUST appear no more than once."),
];

/** RFC 7643 §4.1.2 groups: the service provider derives it from Group membership. */
const groupSubAttributes: AttributeDefinition[] = [
  attribute('value', 'string', "The identifier of the User's group.", { mutability: 'readOnly' }),
  attribute('$ref', 'reference', "The URI of the corresponding 'Group' resource to which the user belongs.", {
    mutability: 'readOnly',
    referenceTypes: ['User', 'Group'],
  }),
  attribute('display', 'string', "A human-readable name, primarily used for display purposes.", { mutability: 'readOnly' }),
  attribute('type', 'string', "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.", {
    mutability: 'readOnly',
    canonicalValues: ['direct', 'indirect'],
  }),
];

/** The core User schema, RFC 7643 §4.1 and §8.7.1. */
export const USER_SCHEMA_DEFINITION: SchemaDefinition = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    attribute('userName', 'string', 'Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the service provider\'s entire set of Users.', {
      required: true,
      uniqueness: 'server',
    }),
    complexAttribute('name', "The components of the user's real name.", nameSubAttributes),
    attribute('displayName', 'string', 'The name of the User, suitable for display to end-users.'),
    attribute('nickName', 'string', "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'."),
    attribute('profileUrl', 'reference', "A fully qualified URL pointing to a page representing the User's online profile.", {
      referenceTypes: ['external'],
    }),
    attribute('title', 'string', "The user's title, such as \"Vice President\"."),
    attribute('userType', 'string', "Used to identify the relationship between the organization and the user, e.g., 'Contractor', 'Employee', 'Intern'."),
    attribute('preferredLanguage', 'string', "Indicates the User's preferred written or spoken language, e.g., 'en_US'."),
    attribute('locale', 'string', "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
    attribute('timezone', 'string', "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
    attribute('active', 'boolean', "A Boolean value indicating the User's administrative status."),
    attribute('password', 'string', "The User's cleartext password, used to set or compare it. It is never returned.", {
      mutability: 'writeOnly',
      returned: 'never',
    }),
    complexAttribute(
      'emails',
      'Email addresses for the user.',
      multiValuedSubAttributes(
        attribute('value', 'string', "Email addresses for the user. The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'."),
        ['work', 'home', 'other'],
        'email',
      ),
      { multiValued: true },
    ),
    complexAttribute(
      'phoneNumbers',
      'Phone numbers for the User.',
      multiValuedSubAttributes(
        attribute('value', 'string', "Phone number of the User, e.g., 'tel:+1-201-555-0123'."),
        ['work', 'home', 'mobile', 'fax', 'pager', 'other'],
        'phone number',
      ),
      { multiValued: true },
    ),
    complexAttribute(
      'ims',
      'Instant messaging addresses for the User.',
      multiValuedSubAttributes(
        attribute('value', 'string', 'Instant messaging address for the User.'),
        ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo'],
        'instant messaging address',
      ),
      { multiValued: true },
    ),
    complexAttribute(
      'photos',
      'URLs of photos of the User.',
      multiValuedSubAttributes(
        attribute('value', 'reference', 'URL of a photo of the User.', { referenceTypes: ['external'] }),
        ['photo', 'thumbnail'],
        'photo',
      ),
      { multiValued: true },
    ),
    complexAttribute('addresses', 'A physical mailing address for this User.', addressSubAttributes, {
      multiValued: true,
    }),
    complexAttribute(
      'groups',
      'A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.',
      groupSubAttributes,
      { multiValued: true, mutability: 'readOnly' },
    ),
    complexAttribute(
      'entitlements',
      'A list of entitlements for the User that represent a thing the User has.',
      multiValuedSubAttributes(attribute('value', 'string', 'The value of an entitlement.'), [], 'entitlement'),
      { multiValued: true },
    ),
    complexAttribute(
      'roles',
      'A list of roles for the User that collectively represent who the User is, e.g., \'Student\', \'Faculty\'.',
      multiValuedSubAttributes(attribute('value', 'string', 'The value of a role.'), [], 'role'),
      { multiValued: true },
    ),
    complexAttribute(
      'x509Certificates',
      'A list of certificates issued to the User.',
      multiValuedSubAttributes(
        attribute('value', 'binary', 'The value of an X.509 certificate (base64-encoded DER).', { caseExact: true }),
        [],
        'certificate',
      ),
      { multiValued: true },
    ),
  ],
};
